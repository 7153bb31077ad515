package registrysim

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// maintOp is a session's one pending maintenance check (§5).
type maintOp struct {
	cancel context.CancelFunc
}

// cmdMaintEnter is §5: the target's routes go into maintenance at once (per
// backend URL string, shared by every route and session using it), ACK is
// answered, and MAINT_OK|target follows asynchronously once the page URL
// answers. Targets that are not applied route ids of this session are
// accepted, listed and change nothing.
func (s *Server) cmdMaintEnter(c *conn, sess *session, f []string) reply {
	target, page := f[2], f[3]
	ids := s.maintTargets(sess, target)
	for _, id := range ids {
		sess.maint[id] = true
		if d, ok := sess.active[id]; ok {
			c.in.maint[d.backend] = page
		}
	}
	return s.startCheck(c, sess, target, page, "ERROR|timeout waiting for maintenance page to become reachable")
}

// cmdMaintExit is §5: maintenance is off at once, then the backend is checked:
// for ALL one random route's backend, for a single applied route id its
// backend; a comma list or an unknown id gets MAINT_OK without a check.
// "ALL" clears what this session entered, not other sessions' entries.
func (s *Server) cmdMaintExit(c *conn, sess *session, f []string) reply {
	target := f[2]
	var check string
	if target == "ALL" {
		for id := range sess.maint {
			if d, ok := sess.active[id]; ok {
				delete(c.in.maint, d.backend)
			}
		}
		clear(sess.maint)
		if ids := sess.activeIDs(); len(ids) > 0 {
			check = sess.active[ids[rand.IntN(len(ids))]].backend
		}
	} else {
		items := strings.Split(target, ",")
		for _, id := range items {
			delete(sess.maint, id)
			if d, ok := sess.active[id]; ok {
				delete(c.in.maint, d.backend)
			}
		}
		if d, ok := sess.active[target]; ok && len(items) == 1 {
			check = d.backend
		}
	}
	return s.startCheck(c, sess, target, check, "ERROR|timeout waiting for backend to become reachable")
}

func (s *Server) cmdMaintStatus(_ *conn, sess *session, _ []string) reply {
	ids := make([]string, 0, len(sess.maint))
	for id := range sess.maint {
		ids = append(ids, id)
	}
	sort.Strings(ids) // the real order is random (§5)
	b, _ := json.Marshal(map[string][]string{"in_maintenance": ids})
	return line("MAINT_STATUS_OK|" + string(b))
}

// maintTargets expands ALL to the session's applied route ids; a comma list
// is taken as it is.
func (s *Server) maintTargets(sess *session, target string) []string {
	if target == "ALL" {
		return sess.activeIDs()
	}
	return slices.DeleteFunc(strings.Split(target, ","), func(id string) bool { return id == "" })
}

// startCheck answers ACK and, once it is written, starts the check of url
// ("" = nothing to check). Only one check is pending per session: starting one
// silently cancels the previous, which then sends neither MAINT_OK nor ERROR.
func (s *Server) startCheck(c *conn, sess *session, target, url, failLine string) reply {
	if sess.pending != nil {
		sess.pending.cancel()
	}
	in := c.in
	ctx, cancel := context.WithCancel(in.ctx)
	op := &maintOp{cancel: cancel}
	sess.pending = op
	start := func() {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			defer cancel()
			ok := url == "" || s.poll(ctx, url)
			s.mu.Lock()
			mine := sess.pending == op && ctx.Err() == nil
			if mine {
				sess.pending = nil
			}
			s.mu.Unlock()
			if !mine {
				return
			}
			if ok {
				c.write("MAINT_OK|" + target)
			} else {
				c.write(failLine) // §5: no target in it
			}
		}()
	}
	return reply{line: "ACK", after: start}
}

// poll checks url once per MaintInterval until it answers or MaintTimeout
// has passed (§5: once a second, up to 60 tries).
func (s *Server) poll(ctx context.Context, url string) bool {
	deadline := time.Now().Add(s.opts.MaintTimeout)
	for {
		tctx, tcancel := context.WithDeadline(ctx, deadline)
		err := s.opts.Checker.Check(tctx, url)
		tcancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil || time.Now().Add(s.opts.MaintInterval).After(deadline) {
			return false
		}
		t := time.NewTimer(s.opts.MaintInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}
