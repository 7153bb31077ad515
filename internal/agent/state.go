package agent

import "time"

// StateVersion is the version of the State document. It changes only when
// a field is removed or changes meaning. Fields are added without a new
// version, so a reader ignores the fields it does not know.
const StateVersion = 1

// State is the agent's state document for programs, served at /v1/state:
// what `regagent status` shows and what `regagent plan` compares a file
// with. Its JSON field names are an interface (README, "The state
// document"), unlike those of the /status page: every field listed here is
// always present, with null, "", false, 0 or [] while it is not known.
type State struct {
	Version int       `json:"version"`
	Time    time.Time `json:"time"`
	// Ready is what /readyz answers; NotReady says why not.
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready"`
	// SelfIP is the address ${SELF_IP} renders to ("" when none was found).
	SelfIP      string          `json:"self_ip"`
	Connection  StateConnection `json:"connection"`
	Config      StateConfig     `json:"config"`
	Routes      []StateRoute    `json:"routes"`
	Maintenance []StateTarget   `json:"maintenance"`
	Reconcile   StateReconcile  `json:"reconcile"`
	// Applied is the rest of what the agent knows it has made live, beyond
	// its routes; null until the agent has a reconciler.
	Applied *StateApplied `json:"applied"`
}

// StateConnection is the registry connection.
type StateConnection struct {
	// State is DISCONNECTED, CONNECTING, CONNECTED, RECONNECTING or CLOSED.
	State     string `json:"state"`
	SessionID string `json:"session_id"`
	// Generation counts the sessions of this process: each REGISTER
	// starts a new, empty one (PROTOCOL.md §2).
	Generation uint64 `json:"generation"`
}

// StateConfig is the config file and the config in force.
type StateConfig struct {
	File string `json:"file"`
	// Hash is of the config in force: the last valid content.
	Hash string `json:"hash"`
	// Valid is false when the file's current content is invalid; the
	// config in force stays the last valid one.
	Valid bool `json:"valid"`
	// InvalidHash is of the invalid content, "" when Valid.
	InvalidHash string             `json:"invalid_hash"`
	Errors      []StateConfigError `json:"errors"`
}

// StateConfigError is one problem of an invalid file, with its position
// when it has one (Line and Column 0 when not).
type StateConfigError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
	// Text is the whole error as `regagent validate` prints it.
	Text string `json:"text"`
}

// StateRoute is one route the agent made live, as it was sent.
type StateRoute struct {
	// Name is the route's name in the file ("" for a stray found by
	// ROUTE_LIST that belongs to no name).
	Name     string       `json:"name"`
	ID       string       `json:"id"`
	Domains  []string     `json:"domains"`
	Path     string       `json:"path"`
	Backend  string       `json:"backend"`
	Priority int          `json:"priority"`
	Health   *StateHealth `json:"health"`
	// Options and Headers were staged with the route (PROTOCOL.md §4).
	Options map[string]string `json:"options"`
	Headers map[string]string `json:"headers"`
	// Unverified: read back from ROUTE_LIST, which does not show health
	// checks, options or headers; the route is added again.
	Unverified bool `json:"unverified"`
	// Refused: an orphan staged by an apply the registry refused.
	Refused bool `json:"refused"`
	// Maintenance is null when the route's backend is not in maintenance.
	Maintenance *StateRouteMaintenance `json:"maintenance"`
	// MaintenanceEntered: this session entered the route's id in
	// maintenance, so MAINT_STATUS should list it (the drift check compares).
	MaintenanceEntered bool `json:"maintenance_entered"`
}

// StateHealth is a route's health check; durations read like "10s".
type StateHealth struct {
	Path     string `json:"path"`
	Interval string `json:"interval"`
	Timeout  string `json:"timeout"`
}

// StateRouteMaintenance is the maintenance of a route's backend.
type StateRouteMaintenance struct {
	// Page is the maintenance page URL, "" for the proxy's own page.
	Page string `json:"page"`
	// Mode is the confirmation of the request that covers the route:
	// "proxy" (MAINT_OK came), "local" (it did not; the service must
	// handle maintenance itself), "pending", or "" when no request of this
	// process covers it (the backend is shared with a route in
	// maintenance, or was put in maintenance before a restart).
	Mode string `json:"mode"`
}

// StateTarget is the last maintenance request for one target.
type StateTarget struct {
	// Target is as sent: ALL or a comma list of route ids (PROTOCOL.md §5).
	Target string `json:"target"`
	// Routes are the names of the target's routes, as far as known.
	Routes  []string `json:"routes"`
	Entered bool     `json:"entered"`
	// Mode is "pending", "proxy" or "local", as for a route.
	Mode  string    `json:"mode"`
	Since time.Time `json:"since"`
}

// StateReconcile is the outcome of the reconcile passes.
type StateReconcile struct {
	// InForce: what should be in force is applied. Converged: the current
	// file is applied (false while a change is refused, with Terminal).
	InForce   bool `json:"in_force"`
	Converged bool `json:"converged"`
	Terminal  bool `json:"terminal"`
	// LastPlan is the last plan as `regagent plan` prints it.
	LastPlan   string      `json:"last_plan"`
	LastPlanAt *time.Time  `json:"last_plan_at"`
	LastCounts StateCounts `json:"last_counts"`
	// LastError is "" once a pass succeeds; LastErrorAt stays.
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
	Passes      int        `json:"passes"`
	Writes      int        `json:"writes"`
	Commands    int        `json:"commands"`
	Errors      int        `json:"errors"`
	Drifts      int        `json:"drifts"`
	Replays     int        `json:"replays"`
	// Windows are the maintenance windows in force or to come, soonest
	// first.
	Windows []StateWindow `json:"windows"`
}

// StateWindow is one maintenance window of the file in force.
type StateWindow struct {
	Name string `json:"name"`
	// Targets as the file writes them ([] for the whole service); Routes
	// the names of the routes they designate.
	Targets []string   `json:"targets"`
	Routes  []string   `json:"routes"`
	From    *time.Time `json:"from"`
	Until   *time.Time `json:"until"`
	Reason  string     `json:"reason"`
	InForce bool       `json:"in_force"`
}

// StateCounts are the changes of a plan, by kind, and its commands.
type StateCounts struct {
	Added      int `json:"added"`
	Removed    int `json:"removed"`
	Readded    int `json:"readded"`
	Updated    int `json:"updated"`
	Purged     int `json:"purged"`
	MaintEnter int `json:"maint_enter"`
	MaintExit  int `json:"maint_exit"`
	Commands   int `json:"commands"`
}

// StateApplied is what the agent tracks beyond its routes: routes it will
// remove, and maintenance it entered.
type StateApplied struct {
	// Generation is the session the applied state belongs to.
	Generation uint64 `json:"generation"`
	// Strays are routes of this session that belong to no name; Orphans
	// those of the previous session the proxy may still serve
	// (PROTOCOL.md §7). Both are removed.
	Strays      []StateRoute            `json:"strays"`
	Orphans     []StateRoute            `json:"orphans"`
	Maintenance StateAppliedMaintenance `json:"maintenance"`
	// MaxID and PrevMaxID are the highest route id numbers of this session
	// and the previous one (PROTOCOL.md §8).
	MaxID     int `json:"max_id"`
	PrevMaxID int `json:"prev_max_id"`
}

// StateAppliedMaintenance is the maintenance the agent entered, per
// backend URL as the proxy keeps it (PROTOCOL.md §5).
type StateAppliedMaintenance struct {
	All bool `json:"all"`
	// Backends maps each backend in maintenance to its page URL; Stale
	// those of an earlier session that may still be.
	Backends map[string]string `json:"backends"`
	Stale    map[string]string `json:"stale"`
}
