package reconcile

import (
	"maps"
	"slices"
	"sync"
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
	// Windows are the maintenance windows in force or to come of the
	// desired state in force, soonest first.
	Windows []WindowStatus `json:"windows,omitempty"`

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

// WindowStatus is one maintenance window in force or to come.
type WindowStatus struct {
	Name string `json:"name"`
	// Targets are as the file writes them, none for the whole service;
	// Routes the names of the routes they designate.
	Targets []string   `json:"targets,omitempty"`
	Routes  []string   `json:"routes,omitempty"`
	From    *time.Time `json:"from,omitempty"`
	Until   *time.Time `json:"until,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	InForce bool       `json:"in_force"`
}

// MaintStatus is the client's view of one maintenance target.
type MaintStatus struct {
	Target  string    `json:"target"`
	Entered bool      `json:"entered"`
	Mode    string    `json:"mode"`
	Since   time.Time `json:"since"`
}

// board is where the Run goroutine meets the others, under mu: SetDesired
// posts the desired state for the next pass, and every pass publishes what
// it did for Status and Applied.
type board struct {
	conn Conn             // read by Status for the client's own view: session, maintenance
	now  func() time.Time // tells Status which windows are in force or to come

	mu   sync.Mutex
	want want   // posted by SetDesired
	st   Status // published by passes; Converged, InForce and LastPlan are derived
	// done is the desired version last applied without error; inForce the
	// version whose state in force (itself, or the last good one) is applied.
	done, inForce uint64
	plan          lastPlan
	snap          Applied      // copy of the pass's Applied, for Applied()
	windows       []WindowSpec // of the desired state the last pass converged to
}

// want is the desired state as SetDesired posted it.
type want struct {
	desired   *Desired // nil until the first SetDesired
	version   uint64   // bumped by every post
	drift     time.Duration
	threshold float64
}

// lastPlan is the last plan; text its Diff once Status rendered it: for
// thousands of routes the text costs as much as the plan.
type lastPlan struct {
	c        Changeset
	text     string
	rendered bool
}

// post makes d the desired state for the next pass.
func (b *board) post(d Desired, drift time.Duration, threshold float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want = want{desired: &d, version: b.want.version + 1, drift: drift, threshold: threshold}
}

// wanted returns what the next pass must converge to.
func (b *board) wanted() want {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.want
}

// Status returns a snapshot; it is safe to call from any goroutine.
func (r *Reconciler) Status() Status { return r.board.status() }

func (b *board) status() Status {
	ms := b.conn.MaintenanceState()
	gen := b.conn.Generation()
	b.mu.Lock()
	s := b.st
	// A new session is empty until the replay pass: not converged then.
	s.Converged = b.done != 0 && b.done == b.want.version && s.Generation == gen
	s.InForce = b.inForce != 0 && b.inForce == b.want.version && s.Generation == gen
	if !b.plan.rendered && !b.st.LastPlanAt.IsZero() {
		b.plan.text, b.plan.rendered = Diff(b.plan.c), true
	}
	s.LastPlan = b.plan.text
	s.Routes = slices.Clone(s.Routes)
	s.MaintenanceBackends = maps.Clone(s.MaintenanceBackends)
	windows := b.windows
	b.mu.Unlock()
	now := b.now()
	for _, w := range (MaintenanceSpec{Windows: windows}).Upcoming(now) {
		s.Windows = append(s.Windows, WindowStatus{Name: w.Name, Targets: slices.Clone(w.Targets), Routes: slices.Clone(w.Routes),
			From: cloneTime(w.From), Until: cloneTime(w.Until), Reason: w.Reason, InForce: w.Active(now)})
	}
	for _, m := range ms {
		s.Maintenance = append(s.Maintenance, MaintStatus{Target: m.Target, Entered: m.Entered, Mode: m.Mode.String(), Since: m.Since})
	}
	return s
}

// Applied returns a copy of the applied state as of the last pass; it is
// safe to call from any goroutine. `regagent plan` compares a file with it.
func (r *Reconciler) Applied() Applied {
	b := r.board
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.snap.Routes == nil {
		return NewApplied(0)
	}
	return b.snap.Clone()
}

// count updates the pass counters.
func (b *board) count(f func(*Status)) {
	b.mu.Lock()
	f(&b.st)
	b.mu.Unlock()
}

// scheduled publishes the maintenance windows of the desired state a pass
// converges to. The slice is never modified: a new desired state comes
// with a new one.
func (b *board) scheduled(windows []WindowSpec) {
	b.mu.Lock()
	b.windows = windows
	b.mu.Unlock()
}

// planned publishes the plan a pass made at now.
func (b *board) planned(c Changeset, now time.Time) {
	b.mu.Lock()
	b.plan = lastPlan{c: c}
	b.st.LastPlanAt, b.st.LastCounts = now, c.Counts()
	b.mu.Unlock()
}

// publish publishes the applied state a of session sid. err is the pass's
// error: nil clears the last error.
func (b *board) publish(a Applied, sid string, err error) {
	routes := make([]RouteStatus, 0, len(a.Routes))
	for _, name := range sortedKeys(a.Routes) {
		ar := a.Routes[name]
		routes = append(routes, RouteStatus{Name: name, ID: ar.ID, Domains: ar.Spec.Domains, Path: ar.Spec.Path,
			Backend: ar.Spec.Backend, Priority: ar.Spec.Priority, Health: ar.Spec.Health, Unverified: ar.Unverified})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Generation, b.st.SessionID, b.st.Routes = a.Generation, sid, routes
	b.st.MaintenanceBackends = maps.Clone(a.Maintenance.Backends)
	b.snap = a.Clone()
	if err == nil {
		b.st.LastError, b.st.Terminal = "", false
	}
}

// failed publishes the error a pass ended with, at now.
func (b *board) failed(err error, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.LastError, b.st.LastErrorAt = err.Error(), now
	b.st.Errors++
	b.st.Terminal = isTerminal(err)
}

// converged records that desired version v is applied and in force.
func (b *board) converged(v uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.inForce = v, v
}

// fallenBack records that the last good state is in force while desired
// version v stays refused with err.
func (b *board) fallenBack(v uint64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.LastError, b.st.Terminal = err.Error(), true
	b.inForce = v
}
