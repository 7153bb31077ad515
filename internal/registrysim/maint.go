package registrysim

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// maintOp is a session's one pending maintenance check (§5).
type maintOp struct {
	cancel context.CancelFunc
}

// cmdMaintEnter is §5 as refined by §9: each target id is trimmed and listed
// in MAINT_STATUS; for an applied route id of this session, every proxy route
// with the same path and an overlapping domain has its backend object put in
// maintenance with this page URL (overwriting any earlier page), which
// spreads to every route sharing those objects. Other targets change
// nothing. ACK is answered at once; with a page URL a check follows
// (cancelling the session's pending one), with none MAINT_OK follows ACK
// directly and the pending check is left alone.
func (s *Server) cmdMaintEnter(c *conn, sess *session, f []string) reply {
	target, page := f[2], f[3]
	for _, id := range s.maintTargets(sess, target) {
		sess.maint[id] = true
		if d, ok := sess.active[id]; ok {
			c.in.setMaintenance(d, true, page)
		}
	}
	if page == "" {
		return reply{line: "ACK", then: "MAINT_OK|" + target}
	}
	return s.startCheck(c, sess, target, page, "ERROR|timeout waiting for maintenance page to become reachable")
}

// cmdMaintExit is §5 as refined by §9: it cancels the session's pending
// check, turns maintenance off at once (on the backend objects of the proxy
// routes matching each applied target, as MAINT_ENTER does), then checks a
// backend: for ALL one random applied route's, for a single (trimmed)
// applied route id its own; a comma list or an unknown id gets MAINT_OK
// without a check. "ALL" clears what this session entered, not other
// sessions' entries.
func (s *Server) cmdMaintExit(c *conn, sess *session, f []string) reply {
	target := f[2]
	if sess.pending != nil {
		sess.pending.cancel()
		sess.pending = nil
	}
	var check string
	if target == "ALL" {
		for id := range sess.maint {
			if d, ok := sess.active[id]; ok {
				c.in.setMaintenance(d, false, "")
			}
		}
		clear(sess.maint)
		if ids := sess.activeIDs(); len(ids) > 0 {
			check = sess.active[ids[s.rand.IntN(len(ids))]].backend
		}
	} else {
		for _, item := range strings.Split(target, ",") {
			id := strings.TrimSpace(item)
			if d, ok := sess.active[id]; ok {
				c.in.setMaintenance(d, false, "")
			}
			delete(sess.maint, id)
		}
		if d, ok := sess.active[strings.TrimSpace(target)]; ok {
			check = d.backend
		}
	}
	if check == "" {
		return reply{line: "ACK", then: "MAINT_OK|" + target}
	}
	return s.startCheck(c, sess, target, check, "ERROR|timeout waiting for backend to become reachable")
}

// setMaintenance is the proxy's maintenance switch (§9): it acts on the
// backend objects of every listed route with d's path and a domain in
// common with d.
func (in *instance) setMaintenance(d routeDef, on bool, page string) {
	in.eachMatching(d.domains, d.path, func(r *ProxyRoute) {
		r.obj.maint, r.obj.page = on, page
	})
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
// is split and each item trimmed (§9), empty items included.
func (s *Server) maintTargets(sess *session, target string) []string {
	if target == "ALL" {
		return sess.activeIDs()
	}
	items := strings.Split(target, ",")
	for i, id := range items {
		items[i] = strings.TrimSpace(id)
	}
	return items
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
