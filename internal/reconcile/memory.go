package reconcile

// Memory is what one agent process made live on the proxy, kept across
// restarts of the process: a new process gets a new, empty session, and
// nothing on the wire tells it what the dead session left served
// (PROTOCOL.md §7). The agent stores it in its state file; the reconciler
// takes it in Options.Inherited and hands the current one to
// Options.Remember.
type Memory struct {
	// Service and Instance say whose routes these are: a memory of
	// another service or instance is not ours to clean up.
	Service  string `json:"service"`
	Instance string `json:"instance"`
	// Routes are the routes that may be live: those applied, and those a
	// plan was about to apply when the process died.
	Routes []MemoryRoute `json:"routes"`
	// Maintenance maps each backend URL this agent put in maintenance to
	// its page URL (§5).
	Maintenance map[string]string `json:"maintenance,omitempty"`
	// MaintenanceAll is set after MAINT_ENTER ALL.
	MaintenanceAll bool `json:"maintenance_all,omitempty"`
	// MaxRouteID is the highest route id number the proxy gave this
	// agent: route ids restart at r1 when the proxy restarts (§8), so a
	// new id not above it proves that nothing of the old session is left.
	MaxRouteID int `json:"max_route_id,omitempty"`
}

// MemoryRoute is where a route sat in the proxy: enough to purge it.
type MemoryRoute struct {
	Name    string   `json:"name,omitempty"`
	Domains []string `json:"domains"`
	Path    string   `json:"path"`
	Backend string   `json:"backend"`
}
