package registrysim

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// SessionInfo describes a session for tests.
type SessionInfo struct {
	ID, Service, Instance string
	Connected             bool // false while in the §7 grace
	RoutesStaged          int
	RoutesActive          int
}

// Sessions returns the live and in-grace sessions, sorted by id.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	out := make([]SessionInfo, 0, len(s.cur.sessions))
	for _, sess := range s.cur.sessions {
		out = append(out, SessionInfo{
			ID: sess.id, Service: sess.service, Instance: sess.instance, Connected: sess.conn != nil,
			RoutesStaged: len(sess.stage.routes), RoutesActive: len(sess.active),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// InMaintenance returns the backend URL strings whose backend object is in
// maintenance, sorted (§5, §9). Only objects still used by a listed route
// count: once the last route of a URL is gone, so is its maintenance.
func (s *Server) InMaintenance() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	out := []string{}
	for _, r := range s.cur.proxy {
		if r.obj.maint && !slices.Contains(out, r.Backend) {
			out = append(out, r.Backend)
		}
	}
	sort.Strings(out)
	return out
}

// Commands returns every non-empty line received, in arrival order, across
// connections and restarts since the last ResetCommands. A line dropped for
// being too long (§1) is not recorded.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// CommandCount returns len(Commands()).
func (s *Server) CommandCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.commands)
}

// ResetCommands forgets the recorded lines.
func (s *Server) ResetCommands() {
	s.mu.Lock()
	s.commands = nil
	s.mu.Unlock()
}

// DropConnections resets every live connection, as a network failure would.
// Sessions go to their grace (§7). It returns once the server has processed
// every drop.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var conns []*conn
	if s.cur != nil {
		conns = s.cur.connList()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(true)
	}
	for _, c := range conns {
		<-c.done
	}
}

// Freeze, with frozen set, makes every connection open at that moment
// half-open: the server stops processing and answering its lines (async lines
// included) but keeps it open. Connections accepted later are served normally,
// so a client can reconnect. Freeze(false) resumes the frozen connections
// where they were (lines they sent meanwhile are then processed).
func (s *Server) Freeze(frozen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !frozen {
		if s.thaw != nil {
			close(s.thaw)
			s.thaw = nil
		}
		return
	}
	if s.thaw == nil {
		s.thaw = make(chan struct{})
	}
	if s.cur != nil {
		for c := range s.cur.conns {
			c.thaw = s.thaw
		}
	}
}

// SetResponseDelay delays the processing of every later command by d (0 = none).
// Order is preserved.
func (s *Server) SetResponseDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// SendRaw writes line (a newline is added) on the connection of the session,
// between ordinary replies: EVENT|..., SHUTDOWN, a stray MAINT_OK.
func (s *Server) SendRaw(sessionID, line string) error {
	if strings.ContainsAny(line, "\r\n") {
		return ErrBadLine
	}
	s.mu.Lock()
	var c *conn
	if s.cur != nil {
		sess, ok := s.cur.sessions[sessionID]
		if !ok {
			s.mu.Unlock()
			return ErrNoSession
		}
		c = sess.conn
	}
	s.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	return c.write(line)
}
