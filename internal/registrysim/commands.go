package registrysim

import (
	"strings"
	"time"
)

// reply is what a command handler produces: the line to answer (without
// newline), an optional second line written right after it (MAINT_OK when
// there is nothing to check, §9), an optional action to run once the lines
// are written (async maintenance checks start only after their ACK, §5), and
// whether to close.
type reply struct {
	line  string
	then  string
	after func()
	close bool
}

func line(s string) reply { return reply{line: s} }

func errorf(msg string) reply { return reply{line: "ERROR|" + msg} }

// handler is one command. min counts fields including the command name;
// fewer gives "ERROR|invalid format", extra fields are ignored (§1). Commands
// whose only field is the session id have min 1: the server never reads that
// field, so they are accepted bare (§9).
// Handlers run with Server.mu held unless unlocked is set.
type handler struct {
	min      int
	unlocked bool
	fn       func(c *conn, sess *session, f []string) reply
}

func (s *Server) commandTable() map[string]handler {
	return map[string]handler{
		// §2 sessions
		"REGISTER":        {min: 4, fn: s.cmdRegister},
		"RECONNECT":       {min: 1, fn: s.cmdReconnect},
		"PING":            {min: 1, fn: func(*conn, *session, []string) reply { return line("PONG") }},
		"SESSION_INFO":    {min: 1, fn: s.cmdSessionInfo},
		"CLIENT_SHUTDOWN": {min: 1, fn: s.cmdShutdown},
		// §3 staging
		"ROUTE_ADD":            {min: 6, fn: s.cmdRouteAdd},
		"ROUTE_ADD_BULK":       {min: 3, fn: s.cmdRouteAddBulk},
		"ROUTE_UPDATE":         {min: 5, fn: s.cmdRouteUpdate},
		"ROUTE_REMOVE":         {min: 3, fn: s.cmdRouteRemove},
		"ROUTE_LIST":           {min: 1, fn: s.cmdRouteList},
		"HEALTH_SET":           {min: 6, fn: s.cmdHealthSet},
		"OPTIONS_SET":          {min: 5, fn: s.cmdOptionsSet},
		"OPTIONS_REMOVE":       {min: 4, fn: s.cmdOptionsRemove},
		"HEADERS_SET":          {min: 5, fn: s.cmdHeadersSet},
		"HEADERS_REMOVE":       {min: 4, fn: s.cmdHeadersRemove},
		"RATELIMIT_SET":        {min: 5, fn: func(*conn, *session, []string) reply { return line("RATELIMIT_OK") }},
		"CIRCUIT_BREAKER_SET":  {min: 6, fn: func(*conn, *session, []string) reply { return line("CIRCUIT_OK") }},
		"CONFIG_VALIDATE":      {min: 1, fn: s.cmdValidate},
		"CONFIG_APPLY":         {min: 1, fn: s.cmdApply},
		"CONFIG_ROLLBACK":      {min: 1, fn: s.cmdRollback},
		"CONFIG_DIFF":          {min: 1, fn: s.cmdDiff},
		"CONFIG_APPLY_PARTIAL": {min: 3, fn: s.cmdApplyPartial},
		// §5 maintenance
		"MAINT_ENTER":  {min: 4, fn: s.cmdMaintEnter},
		"MAINT_EXIT":   {min: 3, fn: s.cmdMaintExit},
		"MAINT_STATUS": {min: 1, fn: s.cmdMaintStatus},
		// §6 other
		"DRAIN_START":  {min: 3, fn: s.cmdDrainStart},
		"DRAIN_STATUS": {min: 1, fn: s.cmdDrainStatus},
		"DRAIN_CANCEL": {min: 1, fn: s.cmdDrainCancel},
		"STATS_GET":    {min: 1, fn: s.cmdStats},
		"BACKEND_TEST": {min: 3, unlocked: true, fn: s.cmdBackendTest},
		"SUBSCRIBE":    {min: 3, fn: func(*conn, *session, []string) reply { return line("SUBSCRIBE_OK") }},
	}
}

// dispatch answers one line. The order of checks is the server's (§2, §9):
// before any REGISTER on the connection every other line, unknown commands
// included, gets "no session"; then unknown command, field count, and a
// replaced session ("session not found", but PONG to PING and REREGISTER
// to RECONNECT).
func (s *Server) dispatch(c *conn, ln string) reply {
	// §1: "|" cannot be escaped; the session_id field is ignored (§2).
	f := strings.Split(ln, "|")
	name := f[0]
	s.mu.Lock()
	sess := c.sess
	if sess == nil && name != "REGISTER" {
		s.mu.Unlock()
		return errorf("no session")
	}
	h, ok := s.handlers[name]
	if !ok {
		s.mu.Unlock()
		return errorf("unknown command: " + name)
	}
	if len(f) < h.min {
		s.mu.Unlock()
		return errorf("invalid format")
	}
	if sess != nil && sess.gone && name != "REGISTER" && name != "PING" && name != "RECONNECT" {
		s.mu.Unlock()
		return errorf("session not found") // §2: replaced by a later REGISTER
	}
	if sess != nil && !sess.gone {
		sess.lastActivity = time.Now()
	}
	if h.unlocked {
		s.mu.Unlock()
		return h.fn(c, sess, f)
	}
	defer s.mu.Unlock()
	return h.fn(c, sess, f)
}
