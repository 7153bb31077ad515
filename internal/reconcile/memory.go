package reconcile

import (
	"maps"
	"slices"
)

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

// memory is what may be live after a plan's steps: the routes applied,
// the orphans not purged yet and, when a plan is about to run, the routes
// it adds. Kept before and after each execution, so that a process killed
// in the middle of one leaves a memory that covers it.
func (p *pass) memory(a Applied, c *Changeset) Memory {
	m := Memory{Service: p.opts.Service, Instance: p.opts.Instance, MaxRouteID: max(a.MaxID, a.PrevMaxID),
		MaintenanceAll: a.Maintenance.All}
	seen := map[string]bool{}
	add := func(s RouteSpec) {
		k := routingKey(s) + "|" + s.Backend
		if seen[k] {
			return
		}
		seen[k] = true
		m.Routes = append(m.Routes, MemoryRoute{Name: s.Name, Domains: slices.Clone(s.Domains), Path: s.Path, Backend: s.Backend})
	}
	for _, name := range sortedKeys(a.Routes) {
		add(a.Routes[name].Spec)
	}
	for _, id := range sortedKeys(a.Strays) {
		add(a.Strays[id].Spec)
	}
	for _, o := range a.Orphans {
		add(o.Spec)
	}
	if c != nil {
		for _, s := range c.Steps {
			if s.Kind == StepRouteAdd {
				add(s.Route)
			}
		}
	}
	if len(a.Maintenance.Backends)+len(a.Maintenance.Stale) > 0 {
		m.Maintenance = map[string]string{}
		maps.Copy(m.Maintenance, a.Maintenance.Stale)
		maps.Copy(m.Maintenance, a.Maintenance.Backends)
	}
	return m
}

// remember hands the memory to Options.Remember when it changed.
func (p *pass) remember(a Applied, c *Changeset) {
	if p.opts.Remember == nil {
		return
	}
	m := p.memory(a, c)
	if p.remembered != nil && memoryEqual(*p.remembered, m) {
		return
	}
	p.remembered = &m
	p.opts.Remember(m)
}

func memoryEqual(a, b Memory) bool {
	return a.Service == b.Service && a.Instance == b.Instance && a.MaxRouteID == b.MaxRouteID &&
		a.MaintenanceAll == b.MaintenanceAll && maps.Equal(a.Maintenance, b.Maintenance) &&
		slices.EqualFunc(a.Routes, b.Routes, func(x, y MemoryRoute) bool {
			return x.Name == y.Name && x.Path == y.Path && x.Backend == y.Backend && slices.Equal(x.Domains, y.Domains)
		})
}
