package reconcile

import (
	"maps"
	"slices"
	"time"
)

// Status is a snapshot of the reconciler for the agent's status output.
type Status struct {
	Generation uint64        `json:"generation"`
	SessionID  string        `json:"session_id"`
	Routes     []RouteStatus `json:"routes"`
	// Maintenance is the last maintenance request per target, and whether
	// the proxy confirmed it (mode "proxy") or the service must handle it
	// itself (mode "local").
	Maintenance []MaintStatus `json:"maintenance,omitempty"`
	// MaintenanceBackends are the backend URLs this agent put in
	// maintenance, with their page (§5).
	MaintenanceBackends map[string]string `json:"maintenance_backends,omitempty"`

	LastPlan    string    `json:"last_plan,omitempty"` // Diff of the last plan
	LastPlanAt  time.Time `json:"last_plan_at,omitzero"`
	LastCounts  Counts    `json:"last_counts"`
	LastError   string    `json:"last_error,omitempty"` // "" after a successful pass
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Terminal is set when the last error waits for a config change.
	Terminal bool `json:"terminal"`

	Passes   int `json:"passes"`
	Writes   int `json:"writes"`
	Commands int `json:"commands"`
	Errors   int `json:"errors"`
	Drifts   int `json:"drifts"`
	Replays  int `json:"replays"`

	// Converged is true when the current desired state has been applied
	// by a pass that ended without error.
	Converged bool `json:"converged"`
	// InForce is true when what should be in force is applied: the current
	// desired state, or, while it is refused (Terminal), the last good one.
	InForce bool `json:"in_force"`
}

// RouteStatus is one applied route.
type RouteStatus struct {
	Name       string      `json:"name"`
	ID         string      `json:"id"`
	Domains    []string    `json:"domains"`
	Path       string      `json:"path"`
	Backend    string      `json:"backend"`
	Priority   int         `json:"priority"`
	Health     *HealthSpec `json:"health,omitempty"`
	Unverified bool        `json:"unverified,omitempty"`
}

// MaintStatus is the client's view of one maintenance target.
type MaintStatus struct {
	Target  string    `json:"target"`
	Entered bool      `json:"entered"`
	Mode    string    `json:"mode"`
	Since   time.Time `json:"since"`
}

// Status returns a snapshot; it is safe to call from any goroutine.
func (r *Reconciler) Status() Status {
	ms := r.conn.MaintenanceState()
	gen := r.conn.Generation()
	r.mu.Lock()
	s := r.st
	// A new session is empty until the replay pass: not converged then.
	s.Converged = r.done != 0 && r.done == r.version && s.Generation == gen
	s.InForce = r.inForce != 0 && r.inForce == r.version && s.Generation == gen
	if !r.planRendered && !r.st.LastPlanAt.IsZero() {
		r.planText, r.planRendered = Diff(r.plan), true
	}
	s.LastPlan = r.planText
	s.Routes = slices.Clone(s.Routes)
	s.MaintenanceBackends = maps.Clone(s.MaintenanceBackends)
	r.mu.Unlock()
	for _, m := range ms {
		s.Maintenance = append(s.Maintenance, MaintStatus{Target: m.Target, Entered: m.Entered, Mode: m.Mode.String(), Since: m.Since})
	}
	return s
}

// setApplied publishes the applied state and the pass's outcome.
func (r *Reconciler) setApplied(err error) {
	a := r.applied
	routes := make([]RouteStatus, 0, len(a.Routes))
	for _, name := range sortedKeys(a.Routes) {
		ar := a.Routes[name]
		routes = append(routes, RouteStatus{Name: name, ID: ar.ID, Domains: ar.Spec.Domains, Path: ar.Spec.Path,
			Backend: ar.Spec.Backend, Priority: ar.Spec.Priority, Health: ar.Spec.Health, Unverified: ar.Unverified})
	}
	sid := r.conn.SessionID()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.Generation, r.st.SessionID, r.st.Routes = a.Generation, sid, routes
	r.st.MaintenanceBackends = maps.Clone(a.Maintenance.Backends)
	r.snap = a.Clone()
	if err == nil {
		r.st.LastError, r.st.Terminal = "", false
	}
}

func (r *Reconciler) count(f func(*Status)) {
	r.mu.Lock()
	f(&r.st)
	r.mu.Unlock()
}

// converged records that desired version v is in force.
func (r *Reconciler) converged(v uint64) {
	r.mu.Lock()
	r.done, r.inForce = v, v
	r.mu.Unlock()
}

// Applied returns a copy of the applied state as of the last pass; it is
// safe to call from any goroutine. `regagent plan` compares a file with it.
func (r *Reconciler) Applied() Applied {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap.Routes == nil {
		return NewApplied(0)
	}
	return r.snap.Clone()
}
