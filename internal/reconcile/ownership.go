package reconcile

import (
	"maps"
	"slices"
)

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

// memory is what may be live after a plans's steps: the routes applied,
// the orphans not purged yet and, when a plan is about to run, the routes
// it adds. Kept before and after each execution, so that a process killed
// in the middle of one leaves a memory that covers it.
func (r *Reconciler) memory(a Applied, c *Changeset) Memory {
	m := Memory{Service: r.opts.Service, Instance: r.opts.Instance, MaxRouteID: max(a.MaxID, a.PrevMaxID),
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
func (r *Reconciler) remember(a Applied, c *Changeset) {
	if r.opts.Remember == nil {
		return
	}
	m := r.memory(a, c)
	if r.remembered != nil && memoryEqual(*r.remembered, m) {
		return
	}
	r.remembered = &m
	r.opts.Remember(m)
}

func memoryEqual(a, b Memory) bool {
	return a.Service == b.Service && a.Instance == b.Instance && a.MaxRouteID == b.MaxRouteID &&
		a.MaintenanceAll == b.MaintenanceAll && maps.Equal(a.Maintenance, b.Maintenance) &&
		slices.EqualFunc(a.Routes, b.Routes, func(x, y MemoryRoute) bool {
			return x.Name == y.Name && x.Path == y.Path && x.Backend == y.Backend && slices.Equal(x.Domains, y.Domains)
		})
}
