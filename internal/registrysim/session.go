package registrysim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// session is a registered service instance. It belongs to the connection
// that registered it (§2); after a drop it waits out the grace (§7).
type session struct {
	id, service, instance string
	maintPort             string
	metadata              map[string]any
	conn                  *conn // nil while disconnected (in grace)
	gone                  bool  // replaced, shut down or expired: "session not found"
	deactivated           bool  // its connection dropped: routes disabled (§7)
	connectedAt           time.Time
	lastActivity          time.Time

	active map[string]routeDef // applied routes as the session sees them (ROUTE_LIST "active")
	stage  staging

	maint   map[string]bool // MAINT_STATUS targets (§5)
	pending *maintOp        // the one pending maintenance check (§5)
	grace   context.CancelFunc
	drain   *drain // nil = no drain in progress
}

func (sess *session) key() string { return sess.service + "\x00" + sess.instance }

// activeIDs returns the applied route ids in numeric order.
func (sess *session) activeIDs() []string {
	ids := make([]string, 0, len(sess.active))
	for id := range sess.active {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return routeNum(ids[i]) < routeNum(ids[j]) })
	return ids
}

func (s *Server) newSessionID(in *instance, instanceName string, now time.Time) string {
	// §2: "inst1-1795652634-331452": instance, unix seconds, a time-derived
	// number. Bumped on collision so ids stay unique.
	n := now.Nanosecond() / 1000
	for {
		id := fmt.Sprintf("%s-%d-%d", instanceName, now.Unix(), n)
		if _, taken := in.sessions[id]; !taken {
			return id
		}
		n++
	}
}

func (s *Server) cmdRegister(c *conn, _ *session, f []string) reply {
	// §9: metadata may be omitted, empty or "null" (then it reads null).
	meta := map[string]any{}
	if len(f) > 4 && f[4] != "" && f[4] != "{}" {
		if err := json.Unmarshal([]byte(f[4]), &meta); err != nil {
			return errorf("invalid metadata json")
		}
	}
	in := c.in
	now := time.Now()
	sess := &session{
		id: s.newSessionID(in, f[2], now), service: f[1], instance: f[2], maintPort: f[3],
		metadata: meta, conn: c, connectedAt: now, lastActivity: now,
		active: make(map[string]routeDef), maint: make(map[string]bool),
	}
	sess.stage.reset()

	if old := in.current[sess.key()]; old != nil {
		if !old.deactivated {
			// §2: the old session still counts as connected: its routes
			// leave the proxy at once. That includes a session whose
			// connection was taken over by a second REGISTER (§9).
			in.removeSessionRoutes(old)
		}
		// §7: a dropped session's routes are already disabled, and the
		// server skips removing them: they stay as orphans, served
		// indefinitely. The session itself is forgotten.
		s.endSession(in, old)
	}
	// A second REGISTER on one connection only repoints the connection
	// (§9): the first session keeps its routes enabled and, never seen to
	// disconnect, never expires.
	c.sess = sess
	in.sessions[sess.id] = sess
	in.current[sess.key()] = sess
	return line("ACK|" + sess.id)
}

// cmdReconnect: §2, RECONNECT never restores anything. Before REGISTER the
// dispatcher has answered "no session"; after it, OK about the connection's
// session, or REREGISTER once that session was replaced (§9).
func (s *Server) cmdReconnect(_ *conn, sess *session, _ []string) reply {
	if sess.gone {
		return line("REREGISTER")
	}
	return line("OK")
}

func (s *Server) cmdSessionInfo(_ *conn, sess *session, _ []string) reply {
	now := time.Now()
	info := map[string]any{ // map: keys come out sorted, as observed (§2)
		"connected_at":   sess.connectedAt.UTC().Format(time.RFC3339),
		"instance_name":  sess.instance,
		"last_activity":  sess.lastActivity.UTC().Format(time.RFC3339),
		"metadata":       sess.metadata,
		"routes_active":  len(sess.active),
		"routes_staged":  len(sess.stage.routes),
		"service_name":   sess.service,
		"session_id":     sess.id,
		"uptime_seconds": int(now.Sub(sess.connectedAt).Seconds()),
	}
	b, _ := json.Marshal(info)
	return line("SESSION_OK|" + string(b))
}

func (s *Server) cmdShutdown(c *conn, sess *session, _ []string) reply {
	// §2: routes removed, using the §4 removal rule for each of the
	// session's routes (so an old path left by ROUTE_UPDATE stays).
	c.in.removeSessionRoutes(sess)
	s.endSession(c.in, sess)
	return reply{line: "SHUTDOWN_OK", close: true}
}

// endSession forgets a session: later commands on its connection get
// "session not found", its pending check and grace timer stop.
func (s *Server) endSession(in *instance, sess *session) {
	sess.gone = true
	if sess.pending != nil {
		sess.pending.cancel()
		sess.pending = nil
	}
	if sess.grace != nil {
		sess.grace()
		sess.grace = nil
	}
	delete(in.sessions, sess.id)
	if in.current[sess.key()] == sess {
		delete(in.current, sess.key())
	}
}

// disconnect runs when a connection's reader ends (EOF, reset, long line,
// CLIENT_SHUTDOWN, server stop).
func (s *Server) disconnect(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(c.in.conns, c)
	if sess := c.sess; sess != nil && !sess.gone && sess.conn == c {
		s.detach(c.in, sess)
	}
}

// detach is §7: the routes of the session's applied route definitions are
// disabled by domain+path, so any other route on the same key (of any
// session) is disabled too; all stay served without headers until the
// grace expires; then the session and its routes go.
func (s *Server) detach(in *instance, sess *session) {
	sess.conn = nil
	sess.deactivated = true
	for _, d := range sess.active {
		in.eachMatching(d.domains, d.path, func(r *ProxyRoute) { r.Disabled = true })
	}
	if sess.pending != nil {
		sess.pending.cancel()
		sess.pending = nil
	}
	if in.stopping {
		return
	}
	ctx, cancel := context.WithCancel(in.ctx)
	sess.grace = cancel
	grace := s.opts.Grace
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !sess.gone && sess.conn == nil {
			in.removeSessionRoutes(sess)
			s.endSession(in, sess)
		}
	}()
}
