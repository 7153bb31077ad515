package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PlanOptions tune the planner.
type PlanOptions struct {
	// Now decides whether a maintenance window with an `until` is over.
	Now time.Time
	// MassRemovalThreshold is the fraction of live routes a plan may
	// remove without an explicit permission (planner rule 11,
	// docs/planner.md); 0 means 0.5.
	MassRemovalThreshold float64
}

// Changeset is the result of planning: the steps to send, what they mean
// for humans, and why nothing may be sent.
type Changeset struct {
	// Steps in the order they must reach the server. Empty when nothing
	// differs (planner rule 1, docs/planner.md) or when Err is set.
	Steps []Step
	// Changes describe the route changes, sorted by name.
	Changes []Change
	// Warnings are worth a LOG warn event: maintenance targets that
	// match nothing or reach more routes than named (planner rule 7,
	// docs/planner.md).
	Warnings []string
	// Err, when set, says why the plan must not run: ErrMassRemoval
	// (planner rule 11, docs/planner.md).
	Err error
	// RequeueAt, when not zero, is when maintenance ends by itself and a
	// new pass is due (planner rule 7, docs/planner.md).
	RequeueAt time.Time
}

// ChangeKind is what happens to one route.
type ChangeKind uint8

// The kinds of route changes.
const (
	ChangeAdd    ChangeKind = iota + 1 // new route
	ChangeRemove                       // route no longer wanted
	ChangeReadd                        // removed, then added in a later apply
	ChangeUpdate                       // priority only: ROUTE_UPDATE
	ChangeStray                        // unknown route of this session: removed
	ChangePurge                        // orphan of an earlier session: purged (§7)
)

// Change is one route's change, for Diff and counters.
type Change struct {
	Kind ChangeKind
	Name string
	ID   string     // applied id, if any
	From *RouteSpec // applied spec, if any
	To   *RouteSpec // desired spec, if any
	// Why lists the differences, e.g. "backend http://a -> http://b".
	Why []string
}

// Counts sums a changeset by kind.
type Counts struct {
	Added      int `json:"added"`
	Removed    int `json:"removed"`
	Readded    int `json:"readded"`
	Updated    int `json:"updated"`
	Purged     int `json:"purged"`
	MaintEnter int `json:"maint_enter"`
	MaintExit  int `json:"maint_exit"`
	Commands   int `json:"commands"`
}

// Counts returns the number of changes of each kind and of commands.
func (c Changeset) Counts() Counts {
	var n Counts
	for _, ch := range c.Changes {
		switch ch.Kind {
		case ChangeAdd:
			n.Added++
		case ChangeRemove, ChangeStray:
			n.Removed++
		case ChangeReadd:
			n.Readded++
		case ChangeUpdate:
			n.Updated++
		case ChangePurge:
			n.Purged++
		}
	}
	for _, s := range c.Steps {
		switch s.Kind {
		case StepMaintEnter:
			n.MaintEnter++
		case StepMaintExit:
			n.MaintExit++
		}
	}
	n.Commands = len(c.Steps)
	return n
}

// Empty reports whether the plan sends nothing.
func (c Changeset) Empty() bool { return len(c.Steps) == 0 }

// Plan computes the steps that take the proxy from applied to desired. It is
// a pure function. The plan is at most: purge orphans (add, apply, remove,
// apply, §7), then remove everything that goes or changes and apply, then
// stage the full option and header set, add, set health checks and apply,
// then maintenance. Removals and additions never share an apply, because
// an apply adds before it removes and a removal deletes every overlapping
// route (§4). It trusts d: a desired state comes from a config that
// config.Parse accepted (FromConfig), and the client checks every field of
// every command before writing it (§1).
func Plan(d Desired, a Applied, o PlanOptions) Changeset {
	var c Changeset
	if o.MassRemovalThreshold <= 0 {
		o.MassRemovalThreshold = 0.5
	}
	want := make(map[string]RouteSpec, len(d.Routes))
	for _, r := range d.Routes {
		want[r.Name] = r
	}

	kind := map[string]ChangeKind{}
	why := map[string][]string{}
	var removed []RouteSpec // applied specs whose removal hits the proxy (§4)
	var gone []string
	for name := range a.Routes {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		kind[name] = ChangeRemove
		removed = append(removed, a.Routes[name].Spec)
	}
	// d.Routes is sorted by name: no need to sort the applied names.
	for _, w := range d.Routes {
		ar, ok := a.Routes[w.Name]
		switch {
		case !ok:
			kind[w.Name] = ChangeAdd
		case needsReadd(ar, w, d):
			kind[w.Name], why[w.Name] = ChangeReadd, readdReasons(ar, w, d)
			removed = append(removed, ar.Spec)
		case ar.Spec.Priority != w.Priority:
			kind[w.Name] = ChangeUpdate
			why[w.Name] = []string{fmt.Sprintf("priority %d -> %d", ar.Spec.Priority, w.Priority)}
		}
	}
	strays := sortedKeys(a.Strays)
	for _, id := range strays {
		removed = append(removed, a.Strays[id].Spec)
	}
	purge := purgeCopies(d, a.Orphans)
	removed = append(removed, purge...)

	// A removal deletes every proxy route with the same path and an
	// overlapping domain (§4): a route that stays but overlaps one that
	// goes must be removed too and added again in the later apply.
	for changed := len(removed) > 0; changed; {
		changed = false
		for _, w := range d.Routes {
			name := w.Name
			k, ok := kind[name]
			if ok && k != ChangeUpdate {
				continue // added, removed or re-added already
			}
			spec := a.Routes[name].Spec
			for _, r := range removed {
				if overlaps(spec, r) {
					if k == ChangeUpdate {
						why[name] = nil
					}
					kind[name] = ChangeReadd
					why[name] = append(why[name], fmt.Sprintf("overlaps removed route %s (§4)", routeText(r)))
					removed = append(removed, spec)
					changed = true
					break
				}
			}
		}
	}

	c.Changes = changes(d, a, want, kind, why, strays, purge)
	if err := massRemoval(d, a, kind, o.MassRemovalThreshold); err != nil {
		c.Err = err
		return c
	}

	going, adding := map[string]bool{}, map[string]bool{}
	for name, k := range kind {
		if k == ChangeRemove || k == ChangeReadd {
			going[name] = true
		}
		if k == ChangeAdd || k == ChangeReadd {
			adding[name] = true
		}
	}
	m := planMaintenance(d, a, o.Now, going, adding)
	c.Warnings, c.RequeueAt = m.warnings, m.requeueAt
	c.Steps = append(c.Steps, m.preExit...)
	c.Steps = append(c.Steps, routeSteps(d, a, want, kind, strays, purge, m.keep)...)
	c.Steps = append(c.Steps, m.post...)
	return c
}

// needsReadd is readdReasons without building the text.
func needsReadd(ar AppliedRoute, w RouteSpec, d Desired) bool {
	return ar.Unverified || !sameRouting(ar.Spec, w) || !sameHealth(ar.Spec.Health, w.Health) ||
		!maps.Equal(ar.Options, d.Options) || !maps.Equal(ar.Headers, d.Headers)
}

// readdReasons lists what differs in a way only a re-add can fix: routing
// (ROUTE_UPDATE leaves stale entries, §4), the health check (HEALTH_SET
// only reaches routes staged in the same apply, §4), options and headers
// (only given to routes added in the same apply, §4).
func readdReasons(ar AppliedRoute, w RouteSpec, d Desired) []string {
	var why []string
	s := ar.Spec
	if s.Backend != w.Backend {
		why = append(why, fmt.Sprintf("backend %s -> %s", s.Backend, w.Backend))
	}
	if !slices.Equal(s.Domains, w.Domains) {
		why = append(why, fmt.Sprintf("domains %s -> %s", strings.Join(s.Domains, ","), strings.Join(w.Domains, ",")))
	}
	if s.Path != w.Path {
		why = append(why, fmt.Sprintf("path %s -> %s", s.Path, w.Path))
	}
	if !sameHealth(s.Health, w.Health) {
		why = append(why, "health check "+healthText(s.Health)+" -> "+healthText(w.Health))
	}
	if !maps.Equal(ar.Options, d.Options) {
		why = append(why, "options")
	}
	if !maps.Equal(ar.Headers, d.Headers) {
		why = append(why, "headers")
	}
	if ar.Unverified && len(why) == 0 {
		why = append(why, "read back from the proxy")
	}
	return why
}

// purgeCopies returns one route per orphan that must be purged: the proxy
// keeps serving an earlier session's routes (§7), and only a removal of a
// route of ours with the same path and an overlapping domain deletes them.
// An orphan is harmless, and kept, only when a desired route routes exactly
// like it with the same health check and options, and no headers are wanted
// (an orphan's headers are no longer added, §7), and it is the only orphan
// at its domain and path: otherwise every reconnect would leave one more
// entry in the proxy, whose apply cost grows with its size (§4).
func purgeCopies(d Desired, orphans []AppliedRoute) []RouteSpec {
	var out []RouteSpec
	perKey := map[string]int{}
	for _, o := range orphans {
		perKey[routingKey(o.Spec)]++
	}
	seen := map[string]bool{}
	for _, o := range orphans {
		k := routingKey(o.Spec)
		harmless := perKey[k] == 1 && len(d.Headers) == 0 && maps.Equal(o.Options, d.Options) && !o.Unverified &&
			slices.ContainsFunc(d.Routes, func(r RouteSpec) bool {
				return sameRouting(r, o.Spec) && sameHealth(r.Health, o.Spec.Health)
			})
		if harmless || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, RouteSpec{Domains: o.Spec.Domains, Path: o.Spec.Path, Backend: o.Spec.Backend})
	}
	return out
}

func changes(d Desired, a Applied, want map[string]RouteSpec, kind map[string]ChangeKind, why map[string][]string, strays []string, purge []RouteSpec) []Change {
	var out []Change
	for _, name := range sortedKeys(kind) {
		ch := Change{Kind: kind[name], Name: name, Why: why[name]}
		if ar, ok := a.Routes[name]; ok {
			ch.ID, ch.From = ar.ID, &ar.Spec
		}
		if w, ok := want[name]; ok {
			ch.To = &w
		}
		out = append(out, ch)
	}
	for _, id := range strays {
		s := a.Strays[id].Spec
		out = append(out, Change{Kind: ChangeStray, ID: id, From: &s, Why: []string{"not ours by name"}})
	}
	for i := range purge {
		out = append(out, Change{Kind: ChangePurge, Name: purgeKey(i), From: &purge[i], Why: []string{"orphan of an earlier session (§7)"}})
	}
	return out
}

// massRemoval is the blast-radius guard (planner rule 11, docs/planner.md):
// a plan that drops more than threshold of the live routes for good (a
// rename to the same domain and path does not count) needs the file to say
// so.
func massRemoval(d Desired, a Applied, kind map[string]ChangeKind, threshold float64) error {
	if d.AllowMassRemoval || d.RoutesExplicitlyEmpty {
		return nil
	}
	covered := func(spec RouteSpec) bool {
		return slices.ContainsFunc(d.Routes, func(r RouteSpec) bool { return overlaps(r, spec) })
	}
	live, lost := len(a.Routes), 0
	for name, k := range kind {
		if k == ChangeRemove && !covered(a.Routes[name].Spec) {
			lost++
		}
	}
	// After a new session the routes still served are the old session's
	// orphans (§7), and the purge removes those no desired route covers:
	// they count as live too.
	var seen map[string]bool
	if len(a.Orphans) > 0 {
		seen = make(map[string]bool, len(a.Routes))
		for _, ar := range a.Routes {
			seen[routingKey(ar.Spec)] = true
		}
	}
	for _, o := range a.Orphans {
		if o.Refused {
			continue // never in force: purging it loses nothing wanted
		}
		if k := routingKey(o.Spec); !seen[k] {
			seen[k] = true
			live++
			if !covered(o.Spec) {
				lost++
			}
		}
	}
	if live == 0 {
		return nil
	}
	if float64(lost) <= threshold*float64(live) {
		return nil
	}
	return fmt.Errorf("%w: %d of %d live routes would go (more than %g%%); "+
		"set allow_mass_removal: true, or write routes: [] to remove them all",
		ErrMassRemoval, lost, live, threshold*100)
}

// routingKey identifies where a route sits in the proxy: its domains and path.
func routingKey(r RouteSpec) string {
	return r.Path + "|" + strings.Join(r.Domains, ",")
}

// purgePrefix and releasePrefix start the keys of copies: routes added only
// to be removed again, to purge an orphan (§7) or to release a backend's
// maintenance (§5). No route name may use them.
const (
	purgePrefix   = "orphan#"
	releasePrefix = "release#"
	keepPrefix    = "keep#"
)

func purgeKey(i int) string { return fmt.Sprintf("%s%d", purgePrefix, i) }

func keepKey(i int) string { return fmt.Sprintf("%s%d", keepPrefix, i) }

func releaseKey(i int) string { return fmt.Sprintf("%s%d", releasePrefix, i) }

// routeSteps lays out the route commands: purge, removals, additions. A
// keeper route per backend in keep is added in the apply of the removals
// (adds run first, §4), so the backend object and its maintenance outlive
// the removed routes and pass to the routes added again; it is removed
// after them (§9).
func routeSteps(d Desired, a Applied, want map[string]RouteSpec, kind map[string]ChangeKind, strays []string, purge []RouteSpec, keep []string) []Step {
	// Sized once: a Step is a few hundred bytes, and growing these slices
	// step by step was most of the planning time of a large sync.
	n := len(kind) + len(strays) + len(purge) + len(keep)
	steps := make([]Step, 0, 2*n+len(d.Options)+len(d.Headers)+6)
	// §7: add a copy of each orphan, apply, remove the copies (which
	// deletes the orphans), apply; the routes are added after.
	for i, p := range purge {
		steps = append(steps, Step{Kind: StepRouteAdd, Key: purgeKey(i), Route: p})
	}
	if len(purge) > 0 {
		steps = append(steps, Step{Kind: StepApply})
	}

	removes := make([]Step, 0, n)
	adds := make([]Step, 0, len(kind))
	health := make([]Step, 0, len(kind))
	var updates []Step
	for i := range purge {
		removes = append(removes, Step{Kind: StepRouteRemove, Key: purgeKey(i)})
	}
	for _, name := range sortedKeys(kind) {
		switch kind[name] {
		case ChangeRemove, ChangeReadd:
			removes = append(removes, Step{Kind: StepRouteRemove, Key: name, ID: a.Routes[name].ID})
		case ChangeUpdate:
			id := a.Routes[name].ID
			updates = append(updates, Step{Kind: StepRouteUpdate, Key: name, ID: id, Priority: want[name].Priority})
			// The proxy appends the updated copy with what this apply
			// stages (§4): its health check too.
			if w := want[name]; w.Health != nil {
				hs := healthStep(name, w.Health)
				hs.ID = id
				health = append(health, hs)
			}
		}
		switch kind[name] {
		case ChangeAdd, ChangeReadd:
			w := want[name]
			adds = append(adds, Step{Kind: StepRouteAdd, Key: name, Route: w})
			if w.Health != nil {
				health = append(health, healthStep(name, w.Health))
			}
		}
	}
	for _, id := range strays {
		removes = append(removes, Step{Kind: StepRouteRemove, ID: id})
	}
	if len(removes) > 0 {
		for i, b := range keep {
			steps = append(steps, Step{Kind: StepRouteAdd, Key: keepKey(i),
				Route: RouteSpec{Domains: []string{keepHost(d.Service, b)}, Path: "/", Backend: b}})
		}
		steps = append(steps, removes...)
		steps = append(steps, Step{Kind: StepApply})
	} else {
		keep = nil
	}
	if len(adds) > 0 || len(updates) > 0 {
		// Every apply that adds routes, or updates one (the proxy appends
		// an updated copy, which wins the exact path), stages the full
		// option and header set first: a route gets those of its apply
		// only (§4).
		steps = append(steps, updates...)
		for _, k := range sortedKeys(d.Options) {
			steps = append(steps, Step{Kind: StepOptionSet, Name: k, Value: d.Options[k]})
		}
		for _, k := range sortedKeys(d.Headers) {
			steps = append(steps, Step{Kind: StepHeaderSet, Name: k, Value: d.Headers[k]})
		}
		steps = append(steps, adds...)
		steps = append(steps, health...)
		steps = append(steps, Step{Kind: StepApply})
	}
	for i := range keep {
		steps = append(steps, Step{Kind: StepRouteRemove, Key: keepKey(i)})
	}
	if len(keep) > 0 {
		steps = append(steps, Step{Kind: StepApply})
	}
	return steps
}

func routeText(r RouteSpec) string {
	return strings.Join(r.Domains, ",") + r.Path + " -> " + r.Backend
}

func healthText(h *HealthSpec) string {
	if h == nil {
		return "none"
	}
	return fmt.Sprintf("%s every %s (timeout %s)", h.Path, h.Interval, h.Timeout)
}
