package agent

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
	"regagent/internal/reconcile"
	"regagent/internal/redact"
)

// State implements status.Source. The document is served without
// authentication: every secret in it is masked, as in /status.
func (a *Agent) State() any {
	s := a.state()
	masked, _, err := redact.Copy(a.redactor(), s)
	if err != nil {
		// Nothing of the document can be shown safely.
		msg := err.Error()
		return State{Version: StateVersion, Time: s.Time, Ready: s.Ready, NotReady: s.NotReady,
			Connection: StateConnection{State: s.Connection.State},
			Config: StateConfig{File: s.Config.File, Valid: s.Config.Valid,
				Errors: []StateConfigError{{Message: msg, Text: msg}}},
			Routes: []StateRoute{}, Maintenance: []StateTarget{}}
	}
	return masked
}

func (a *Agent) state() State {
	a.mu.Lock()
	cfg, invalid, invalidHash, cl, rec, selfIP := a.cfg, a.invalid, a.invalidHash, a.cl, a.rec, a.selfIP
	a.mu.Unlock()
	s := State{
		Version: StateVersion,
		Time:    time.Now(),
		SelfIP:  selfIP,
		Config: StateConfig{File: a.opts.ConfigPath, Valid: invalid == nil,
			Errors: stateErrors(invalid)},
		Connection:  StateConnection{State: client.StateDisconnected.String()},
		Routes:      []StateRoute{},
		Maintenance: []StateTarget{},
	}
	if invalid != nil {
		s.Config.InvalidHash = invalidHash
	}
	if cfg != nil {
		s.Config.Hash = cfg.Hash
	}
	if cl != nil {
		s.Connection = StateConnection{State: cl.State().String(), SessionID: cl.SessionID(),
			Generation: cl.Generation()}
	}
	if rec != nil {
		st, ap := rec.Status(), rec.Applied()
		targets := stateTargets(ap, st.Maintenance)
		s.Routes = stateRoutes(ap, targets)
		s.Maintenance = targets
		s.Reconcile = stateReconcile(st)
		s.Applied = stateApplied(ap)
	}
	s.Ready, s.NotReady = a.Ready()
	return s
}

// stateErrors lists the errors of the file's current content.
func stateErrors(invalid error) []StateConfigError {
	out := []StateConfigError{}
	var errs config.Errors
	switch {
	case errors.As(invalid, &errs):
		for _, e := range errs {
			out = append(out, StateConfigError{File: e.File, Line: e.Line, Column: e.Col, Path: e.Path,
				Message: e.Msg, Text: e.Error()})
		}
	case invalid != nil:
		out = append(out, StateConfigError{Message: invalid.Error(), Text: invalid.Error()})
	}
	return out
}

// stateTargets lists the last maintenance request per target, by target,
// naming the routes of its ids.
func stateTargets(ap reconcile.Applied, ms []reconcile.MaintStatus) []StateTarget {
	names := make(map[string]string, len(ap.Routes))
	for name, r := range ap.Routes {
		names[r.ID] = name
	}
	out := make([]StateTarget, 0, len(ms))
	for _, m := range ms {
		t := StateTarget{Target: m.Target, Routes: []string{}, Entered: m.Entered, Mode: m.Mode, Since: m.Since}
		if m.Target == "ALL" {
			t.Routes = sortedNames(ap.Routes)
		} else {
			for id := range strings.SplitSeq(m.Target, ",") {
				if n, ok := names[id]; ok {
					t.Routes = append(t.Routes, n)
				}
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b StateTarget) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// stateRoutes lists the applied routes by name, each with the maintenance
// of its backend and the confirmation of the latest request covering it.
func stateRoutes(ap reconcile.Applied, targets []StateTarget) []StateRoute {
	out := make([]StateRoute, 0, len(ap.Routes))
	for _, name := range sortedNames(ap.Routes) {
		ar := ap.Routes[name]
		r := stateRoute(ar)
		r.Name = name
		if page, ok := ap.Maintenance.Backends[ar.Spec.Backend]; ok {
			r.Maintenance = &StateRouteMaintenance{Page: page, Mode: maintMode(ar.ID, targets)}
		}
		out = append(out, r)
	}
	return out
}

// maintMode is the mode of the latest entered target that covers id.
func maintMode(id string, targets []StateTarget) string {
	var latest *StateTarget
	for i, t := range targets {
		if !t.Entered || (t.Target != "ALL" && !slices.Contains(strings.Split(t.Target, ","), id)) {
			continue
		}
		if latest == nil || t.Since.After(latest.Since) {
			latest = &targets[i]
		}
	}
	if latest == nil {
		return ""
	}
	return latest.Mode
}

func stateRoute(ar reconcile.AppliedRoute) StateRoute {
	r := StateRoute{Name: ar.Spec.Name, ID: ar.ID, Domains: orEmpty(ar.Spec.Domains), Path: ar.Spec.Path,
		Backend: ar.Spec.Backend, Priority: ar.Spec.Priority, Options: mapOrEmpty(ar.Options),
		Headers: mapOrEmpty(ar.Headers), Unverified: ar.Unverified, Refused: ar.Refused,
		MaintenanceEntered: ar.Maintenance}
	if h := ar.Spec.Health; h != nil {
		r.Health = &StateHealth{Path: h.Path, Interval: h.Interval.String(), Timeout: h.Timeout.String()}
	}
	return r
}

func stateReconcile(st reconcile.Status) StateReconcile {
	c := st.LastCounts
	return StateReconcile{
		InForce: st.InForce, Converged: st.Converged, Terminal: st.Terminal,
		LastPlan: st.LastPlan, LastPlanAt: timeOrNil(st.LastPlanAt),
		LastCounts: StateCounts{Added: c.Added, Removed: c.Removed, Readded: c.Readded, Updated: c.Updated,
			Purged: c.Purged, MaintEnter: c.MaintEnter, MaintExit: c.MaintExit, Commands: c.Commands},
		LastError: st.LastError, LastErrorAt: timeOrNil(st.LastErrorAt),
		Passes: st.Passes, Writes: st.Writes, Commands: st.Commands, Errors: st.Errors, Drifts: st.Drifts,
		Replays: st.Replays, Windows: stateWindows(st.Windows),
	}
}

func stateWindows(ws []reconcile.WindowStatus) []StateWindow {
	out := []StateWindow{}
	for _, w := range ws {
		out = append(out, StateWindow{Name: w.Name, Targets: orEmpty(w.Targets), Routes: orEmpty(w.Routes),
			From: w.From, Until: w.Until, Reason: w.Reason, InForce: w.InForce})
	}
	return out
}

func stateApplied(ap reconcile.Applied) *StateApplied {
	s := &StateApplied{Generation: ap.Generation, Strays: []StateRoute{}, Orphans: []StateRoute{},
		MaxID: ap.MaxID, PrevMaxID: ap.PrevMaxID,
		Maintenance: StateAppliedMaintenance{All: ap.Maintenance.All,
			Backends: mapOrEmpty(ap.Maintenance.Backends), Stale: mapOrEmpty(ap.Maintenance.Stale)}}
	for _, id := range sortedNames(ap.Strays) {
		s.Strays = append(s.Strays, stateRoute(ap.Strays[id]))
	}
	for _, o := range ap.Orphans {
		s.Orphans = append(s.Orphans, stateRoute(o))
	}
	return s
}

// ErrNoApplied is returned by AppliedState for a document of an agent
// that has applied nothing yet.
var ErrNoApplied = errors.New("agent: no applied state yet")

// AppliedState is the applied state the document describes, as the agent's
// reconciler holds it: what `regagent plan` compares a file with.
func (s State) AppliedState() (reconcile.Applied, error) {
	if s.Applied == nil {
		return reconcile.Applied{}, ErrNoApplied
	}
	ap := reconcile.NewApplied(s.Applied.Generation)
	ap.MaxID, ap.PrevMaxID = s.Applied.MaxID, s.Applied.PrevMaxID
	ap.Maintenance.All = s.Applied.Maintenance.All
	maps.Copy(ap.Maintenance.Backends, s.Applied.Maintenance.Backends)
	maps.Copy(ap.Maintenance.Stale, s.Applied.Maintenance.Stale)
	for _, r := range s.Routes {
		ar, err := appliedRoute(r)
		if err != nil {
			return reconcile.Applied{}, err
		}
		ap.Routes[r.Name] = ar
	}
	for _, r := range s.Applied.Strays {
		ar, err := appliedRoute(r)
		if err != nil {
			return reconcile.Applied{}, err
		}
		ap.Strays[r.ID] = ar
	}
	for _, r := range s.Applied.Orphans {
		ar, err := appliedRoute(r)
		if err != nil {
			return reconcile.Applied{}, err
		}
		ap.Orphans = append(ap.Orphans, ar)
	}
	return ap, nil
}

func appliedRoute(r StateRoute) (reconcile.AppliedRoute, error) {
	ar := reconcile.AppliedRoute{ID: r.ID, Unverified: r.Unverified, Refused: r.Refused, Maintenance: r.MaintenanceEntered,
		Options: mapOrNil(r.Options), Headers: mapOrNil(r.Headers),
		Spec: reconcile.RouteSpec{Name: r.Name, Domains: r.Domains, Path: r.Path, Backend: r.Backend,
			Priority: r.Priority}}
	if h := r.Health; h != nil {
		interval, err := time.ParseDuration(h.Interval)
		if err != nil {
			return ar, fmt.Errorf("cannot read the health check of route %q: %w", r.Name, err)
		}
		timeout, err := time.ParseDuration(h.Timeout)
		if err != nil {
			return ar, fmt.Errorf("cannot read the health check of route %q: %w", r.Name, err)
		}
		ar.Spec.Health = &reconcile.HealthSpec{Path: h.Path, Interval: interval, Timeout: timeout}
	}
	return ar, nil
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func mapOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func mapOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
