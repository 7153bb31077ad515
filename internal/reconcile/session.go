package reconcile

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"regagent/internal/client"
)

// followSession starts over when the client has registered a new session
// since the last pass: the session is empty, so everything is replayed and
// what the old session left served is purged (planner rule 9,
// docs/planner.md; §7). The first session of a process takes over what an
// earlier process may have left (takeOver).
func (p *pass) followSession(d Desired, now time.Time) {
	gen := p.conn.Generation()
	if gen == p.applied.Generation {
		return
	}
	if p.applied.Generation == 0 {
		p.applied = takeOver(gen, d, p.opts.Inherited)
	} else {
		p.board.count(func(s *Status) { s.Replays++ })
		p.opts.Logger.Info(fmt.Sprintf("new session %s: replaying the configuration", p.conn.SessionID()))
		p.applied = p.applied.Reset(gen)
	}
	// Purging and releasing are brief outages: the probe the client
	// sent with REGISTER may prove there is nothing to purge.
	p.applied.noteID(p.conn.ProbedRouteID())
	p.recover = false
	p.lastDrift = now
}

// takeOver is the state of the first session of a process. The proxy may
// still serve what an earlier process left (PROTOCOL.md §7: its routes stay
// served after its session died, and a new REGISTER never removes them),
// and nothing on the wire says what that was. So every desired domain and
// path, and every route the inherited memory lists, is taken for an orphan
// to purge, and the inherited maintenance for stale. When the proxy has
// restarted since (an empty table), the purge finds nothing and removes
// nothing: it is harmless, and the route id probed with REGISTER usually
// proves the restart and cancels it (see Applied.noteID).
func takeOver(gen uint64, d Desired, m *Memory) Applied {
	a := NewApplied(gen)
	add := func(r RouteSpec) {
		a.Orphans = append(a.Orphans, AppliedRoute{Spec: r, Unverified: true})
	}
	if m != nil {
		a.PrevMaxID = m.MaxRouteID
		for _, r := range m.Routes {
			add(RouteSpec{Name: r.Name, Domains: normDomains(r.Domains), Path: r.Path, Backend: r.Backend})
		}
		maps.Copy(a.Maintenance.Stale, m.Maintenance)
		if m.MaintenanceAll {
			for _, r := range m.Routes {
				if _, ok := a.Maintenance.Stale[r.Backend]; !ok {
					a.Maintenance.Stale[r.Backend] = ""
				}
			}
		}
	}
	for _, r := range d.Routes {
		add(RouteSpec{Name: r.Name, Domains: r.Domains, Path: r.Path, Backend: r.Backend})
	}
	return a
}

// reread replaces what Applied believes by what ROUTE_LIST shows (planner
// rules 8 and 10, docs/planner.md). After a failure it first rolls back
// anything left staged; after a refused apply (p.suspect) it also marks
// every route for re-adding: a partial apply may have left the session's
// list and the proxy's table disagreeing (§3, §4). Other failures (a
// refused maintenance request, a lost reply) leave the routes as the list
// shows them: re-adding them all would put every route through a
// break-before-make gap for nothing.
func (p *pass) reread(ctx context.Context, afterFailure bool) error {
	// A list read from a newer session would make this one's routes look
	// gone; the next pass resets for the new session instead.
	if err := p.sameSession(); err != nil {
		return err
	}
	if afterFailure {
		var b client.Batch
		b.Rollback()
		if _, err := p.conn.Send(ctx, &b); err != nil {
			return fmt.Errorf("cannot roll back: %w", err)
		}
	}
	infos, err := p.conn.ListRoutes(ctx)
	if err != nil {
		return fmt.Errorf("cannot list routes: %w", err)
	}
	if err := p.sameSession(); err != nil {
		return err
	}
	p.lastDrift = p.opts.Now()
	before := p.applied
	p.applied = p.applied.Observe(listed(infos))
	switch {
	case afterFailure && p.suspect:
		for name, ar := range p.applied.Routes {
			ar.Unverified = true
			p.applied.Routes[name] = ar
		}
		p.suspect = false
	case !afterFailure:
		// Maintenance drifts too: it may have been left or entered
		// behind the agent's back, or a reply lost (§5).
		lost, gained, err := p.rereadMaintenance(ctx)
		if err != nil {
			return err
		}
		if drift := driftText(before, p.applied, lost, gained); drift != "" {
			p.board.count(func(s *Status) { s.Drifts++ })
			p.opts.Logger.Warn("drift: " + drift)
		}
	}
	return nil
}

// sameSession fails when the client has registered a session newer than
// the applied state's.
func (p *pass) sameSession() error {
	if p.conn.Generation() != p.applied.Generation {
		return fmt.Errorf("cannot read routes: %w", client.ErrSessionChanged)
	}
	return nil
}

// driftText says what a drift check found: the routes missing, different
// or unknown on the proxy, and the routes out of maintenance or in it
// against what was entered; "" when nothing.
func driftText(before, after Applied, maintLost, maintGained int) string {
	var missing, changed int
	for name, b := range before.Routes {
		a, ok := after.Routes[name]
		switch {
		case !ok:
			missing++
		case a.Unverified && !b.Unverified, a.Spec.Priority != b.Spec.Priority:
			changed++
		}
	}
	extra := len(after.Strays) - len(before.Strays)
	var parts []string
	if missing+changed+max(extra, 0) > 0 {
		parts = append(parts, fmt.Sprintf("%d routes missing, %d different, %d unknown on the proxy", missing, changed, len(after.Strays)))
	}
	if maintLost+maintGained > 0 {
		parts = append(parts, fmt.Sprintf("%d routes out of maintenance, %d in maintenance unexpectedly", maintLost, maintGained))
	}
	return strings.Join(parts, "; ")
}
