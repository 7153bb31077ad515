package reconcile

import (
	"maps"
	"slices"
	"strings"
)

// tracker follows the replies to a plan's steps and turns them into the
// new Applied state: staged work is committed only when its CONFIG_APPLY
// succeeds, and dropped on a rollback. It does no I/O, so tests can drive
// it with made-up replies.
type tracker struct {
	a      Applied
	ids    map[string]string    // Key → id of routes added by this plan
	copies map[string]RouteSpec // id → spec of purge copies (§7)

	adds    []AppliedRoute // staged; Spec.Name is the step key
	addAt   map[string]int // step key → index in adds (the latest add)
	removes []Step         // staged, with ID resolved
	updates []Step
	options map[string]string
	headers map[string]string
}

func newTracker(a Applied) *tracker {
	return &tracker{a: a.Clone(), ids: map[string]string{}, copies: map[string]RouteSpec{}, addAt: map[string]int{}}
}

// id returns the route id a step refers to.
func (t *tracker) id(s Step) (string, bool) {
	if s.ID != "" {
		return s.ID, true
	}
	id, ok := t.ids[s.Key]
	return id, ok
}

func (t *tracker) added(s Step, id string) {
	t.a.noteID(id)
	t.ids[s.Key] = id
	spec := s.Route
	spec.Name = s.Key
	spec.Health = nil // set by HEALTH_OK
	t.addAt[s.Key] = len(t.adds)
	t.adds = append(t.adds, AppliedRoute{ID: id, Spec: spec})
}

func (t *tracker) healthSet(s Step, h *HealthSpec) {
	// A map, not a scan: with bulk adds every health check follows every
	// add, and a scan made a 10,000-route sync quadratic.
	if i, ok := t.addAt[s.Key]; ok {
		hc := *h
		t.adds[i].Spec.Health = &hc
	}
}

func (t *tracker) removed(s Step, id string) {
	s.ID = id
	t.removes = append(t.removes, s)
}

func (t *tracker) updated(s Step) { t.updates = append(t.updates, s) }

func (t *tracker) optionSet(s Step) {
	if t.options == nil {
		t.options = map[string]string{}
	}
	t.options[s.Name] = s.Value
}

func (t *tracker) headerSet(s Step) {
	if t.headers == nil {
		t.headers = map[string]string{}
	}
	t.headers[s.Name] = s.Value
}

// commit records a successful CONFIG_APPLY and returns what it changed.
func (t *tracker) commit() (added []AppliedRoute, removed []Step) {
	for _, s := range t.removes {
		spec, ok := t.removedSpec(s)
		switch {
		case s.Key == "":
			delete(t.a.Strays, s.ID)
		case t.a.Routes[s.Key].ID == s.ID:
			delete(t.a.Routes, s.Key)
		}
		// The removal deleted every overlapping proxy route (§4),
		// orphans of earlier sessions included.
		if ok {
			kept := t.a.Orphans[:0]
			for _, o := range t.a.Orphans {
				if !overlaps(o.Spec, spec) {
					kept = append(kept, o)
				}
			}
			t.a.Orphans = kept
		}
	}
	for _, s := range t.updates {
		if r, ok := t.a.Routes[s.Key]; ok && r.ID == s.ID {
			r.Spec.Priority = s.Priority
			t.a.Routes[s.Key] = r
		}
	}
	for _, r := range t.adds {
		if isCopyKey(r.Spec.Name) {
			t.copies[r.ID] = r.Spec
			continue // a copy that only exists to be removed (§5, §7)
		}
		r.Options = maps.Clone(t.options)
		r.Headers = maps.Clone(t.headers)
		if r.Options == nil {
			r.Options = map[string]string{}
		}
		if r.Headers == nil {
			r.Headers = map[string]string{}
		}
		t.a.Routes[r.Spec.Name] = r
		added = append(added, r)
	}
	removed = t.removes
	t.reset()
	return added, removed
}

// removedSpec is the spec of the route a staged removal deletes.
func (t *tracker) removedSpec(s Step) (RouteSpec, bool) {
	for _, r := range t.a.Routes {
		if r.ID == s.ID {
			return r.Spec, true
		}
	}
	if r, ok := t.a.Strays[s.ID]; ok {
		return r.Spec, true
	}
	if spec, ok := t.copies[s.ID]; ok {
		return spec, true
	}
	return RouteSpec{}, false
}

func (t *tracker) reset() {
	t.adds, t.removes, t.updates, t.options, t.headers = nil, nil, nil, nil, nil
	clear(t.addAt)
}

// maintDone records an acknowledged MAINT_ENTER or MAINT_EXIT. The proxy
// keeps maintenance per backend URL string (§5).
func (t *tracker) maintDone(s Step) {
	m := &t.a.Maintenance
	var backends []string
	for name, r := range t.a.Routes {
		if s.All || slices.Contains(s.Targets, name) {
			backends = append(backends, r.Spec.Backend)
			r.Maintenance = s.Kind == StepMaintEnter
			t.a.Routes[name] = r
		}
	}
	if s.All {
		m.All = s.Kind == StepMaintEnter
	}
	for _, b := range s.Release {
		delete(m.Backends, b)
		delete(m.Stale, b)
	}
	for _, b := range backends {
		delete(m.Stale, b)
		if s.Kind == StepMaintEnter {
			m.Backends[b] = s.Page
		} else {
			delete(m.Backends, b)
		}
	}
}

func isCopyKey(k string) bool {
	return strings.HasPrefix(k, purgePrefix) || strings.HasPrefix(k, releasePrefix) || strings.HasPrefix(k, keepPrefix)
}
