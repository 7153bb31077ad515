package registrysim

import (
	"context"
	"encoding/json"
	"time"
)

// drain is a session's drain (§6). The proxy's routing does not change.
type drain struct {
	started, ends time.Time
}

func (s *Server) cmdDrainStart(_ *conn, sess *session, f []string) reply {
	d, err := time.ParseDuration(f[2])
	if err != nil {
		return errorf("invalid duration") // not observed; assumed
	}
	now := time.Now()
	sess.drain = &drain{started: now, ends: now.Add(d)}
	return line("DRAIN_OK|" + sess.drain.ends.UTC().Format(time.RFC3339))
}

func (s *Server) cmdDrainStatus(_ *conn, sess *session, _ []string) reply {
	now := time.Now()
	if sess.drain == nil || !now.Before(sess.drain.ends) {
		return errorf("no drain in progress")
	}
	b, _ := json.Marshal(map[string]any{
		"draining":          true,
		"started_at":        sess.drain.started.UTC().Format(time.RFC3339),
		"completes_at":      sess.drain.ends.UTC().Format(time.RFC3339),
		"remaining_seconds": int(sess.drain.ends.Sub(now).Seconds()),
	})
	return line("DRAIN_STATUS_OK|" + string(b))
}

func (s *Server) cmdDrainCancel(_ *conn, sess *session, _ []string) reply {
	sess.drain = nil
	return line("DRAIN_OK")
}

type routeStats struct {
	RouteID  string `json:"route_id"`
	Requests int    `json:"requests"`
	Errors   int    `json:"errors"`
}

// cmdStats answers one zeroed entry per applied route: the simulator serves
// no traffic.
func (s *Server) cmdStats(_ *conn, sess *session, _ []string) reply {
	out := []routeStats{}
	for _, id := range sess.activeIDs() {
		out = append(out, routeStats{RouteID: id})
	}
	b, _ := json.Marshal(out)
	return line("STATS_OK|" + string(b))
}

type backendResult struct {
	Reachable bool   `json:"reachable"`
	LatencyMS int64  `json:"latency_ms,omitempty"`
	Error     string `json:"error,omitempty"`
}

// cmdBackendTest runs the Checker without the server lock (it may be slow);
// like the real server, the connection waits for it.
func (s *Server) cmdBackendTest(c *conn, _ *session, f []string) reply {
	ctx, cancel := context.WithTimeout(c.in.ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.opts.Checker.Check(ctx, f[2]); err != nil {
		b, _ := json.Marshal(backendResult{Error: err.Error()})
		return line("BACKEND_FAIL|" + string(b))
	}
	b, _ := json.Marshal(backendResult{Reachable: true, LatencyMS: time.Since(start).Milliseconds()})
	return line("BACKEND_OK|" + string(b))
}
