package registrysim

import (
	"context"
	"encoding/json"
	"time"
)

// drain is a session's drain (§6, §9). The proxy side lives on backend
// objects (see drainRejects).
type drain struct {
	started time.Time
	dur     time.Duration
}

// cmdDrainStart is §9: a bad duration is accepted as 0 (DRAIN_OK, and the
// proxy rejects nothing). Every proxy route with the path and an overlapping
// domain of one of the session's applied routes, whatever its session, has
// its backend object drained from now on.
func (s *Server) cmdDrainStart(c *conn, sess *session, f []string) reply {
	d, _ := time.ParseDuration(f[2])
	now := s.opts.Now()
	sess.drain = &drain{started: now, dur: d}
	for _, def := range sess.active {
		c.in.eachMatching(def.domains, def.path, func(r *ProxyRoute) {
			r.obj.draining, r.obj.drainStart, r.obj.drainDur = true, now, d
		})
	}
	return line("DRAIN_OK|" + now.Add(d).UTC().Format(time.RFC3339))
}

// cmdDrainStatus answers as long as the session is draining, also after the
// drain time has passed.
func (s *Server) cmdDrainStatus(_ *conn, sess *session, _ []string) reply {
	if sess.drain == nil {
		return errorf("no drain in progress")
	}
	elapsed := s.opts.Now().Sub(sess.drain.started)
	remaining := max(sess.drain.dur-elapsed, 0)
	traffic := 0
	if sess.drain.dur > 0 {
		traffic = max(100-int(elapsed.Seconds()/sess.drain.dur.Seconds()*100), 0)
	}
	b, _ := json.Marshal(map[string]any{
		"active":            true,
		"started_at":        sess.drain.started.UTC().Format(time.RFC3339),
		"duration_seconds":  int(sess.drain.dur.Seconds()),
		"elapsed_seconds":   int(elapsed.Seconds()),
		"remaining_seconds": int(remaining.Seconds()),
		"traffic_percent":   traffic,
	})
	return line("DRAIN_STATUS_OK|" + string(b))
}

// cmdDrainCancel is §9: with no drain in progress it is an error; otherwise
// the matching routes' backend objects stop draining.
func (s *Server) cmdDrainCancel(c *conn, sess *session, _ []string) reply {
	if sess.drain == nil {
		return errorf("no drain in progress")
	}
	sess.drain = nil
	for _, def := range sess.active {
		c.in.eachMatching(def.domains, def.path, func(r *ProxyRoute) { r.obj.draining = false })
	}
	return line("DRAIN_OK")
}

// cmdStats answers one zeroed entry per applied route: the simulator serves
// no traffic. Keys come out in alphabetical order (§9).
func (s *Server) cmdStats(_ *conn, sess *session, _ []string) reply {
	out := []map[string]any{}
	for _, id := range sess.activeIDs() {
		out = append(out, map[string]any{"errors": 0, "requests": 0, "route_id": id})
	}
	b, _ := json.Marshal(out)
	return line("STATS_OK|" + string(b))
}

// cmdBackendTest runs the Checker without the server lock (it may be slow);
// like the real server, the connection waits for it. The JSON keys come out
// in alphabetical order (§9).
func (s *Server) cmdBackendTest(c *conn, _ *session, f []string) reply {
	ctx, cancel := context.WithTimeout(c.in.ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.opts.Checker.Check(ctx, f[2]); err != nil {
		b, _ := json.Marshal(map[string]any{"reachable": false, "error": err.Error()})
		return line("BACKEND_FAIL|" + string(b))
	}
	b, _ := json.Marshal(map[string]any{"reachable": true, "latency_ms": time.Since(start).Milliseconds()})
	return line("BACKEND_OK|" + string(b))
}
