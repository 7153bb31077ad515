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
	// Now decides which maintenance window is in force.
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
	// RequeueAt, when not zero, is when a maintenance window begins or
	// ends and a new pass is due (planner rule 7, docs/planner.md).
	RequeueAt time.Time
	// Windows are the maintenance windows in force or to come at Now,
	// soonest first, for people: they change nothing now.
	Windows []WindowSpec
	// Now is the moment the plan was made for (PlanOptions.Now).
	Now time.Time
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
	c.Windows, c.Now = d.Maintenance.Upcoming(o.Now), o.Now
	rc := classify(d, a)
	rc.cascade(d, a)
	c.Changes = changes(d, a, rc.want, rc.kind, rc.why, rc.strays, rc.purge)
	if err := massRemoval(d, a, rc.kind, o.MassRemovalThreshold); err != nil {
		c.Err = err
		return c
	}
	// Made here, where they stay on the stack: a plan is computed on
	// every pass.
	going, adding := map[string]bool{}, map[string]bool{}
	rc.goingAdding(going, adding)
	m := planMaintenance(d, a, o.Now, going, adding)
	c.Warnings, c.RequeueAt = m.warnings, m.requeueAt
	c.Steps = append(c.Steps, m.preExit...)
	c.Steps = append(c.Steps, rc.routeSteps(d, a, m.keep)...)
	c.Steps = append(c.Steps, m.post...)
	return c
}

// routeChanges is what happens to each route, before the plan lays it out
// as steps.
type routeChanges struct {
	want    map[string]RouteSpec  // desired routes by name
	kind    map[string]ChangeKind // route name → its change
	why     map[string][]string   // route name → what differs
	removed []RouteSpec           // specs whose removal hits the proxy (§4)
	strays  []string              // ids of the strays, sorted
	purge   []RouteSpec           // copies that purge orphans (§7)
}

// classify compares each route of d with the one applied under its name.
func classify(d Desired, a Applied) routeChanges {
	rc := routeChanges{want: make(map[string]RouteSpec, len(d.Routes)), kind: map[string]ChangeKind{}, why: map[string][]string{}}
	for _, r := range d.Routes {
		rc.want[r.Name] = r
	}
	var gone []string
	for name := range a.Routes {
		if _, ok := rc.want[name]; !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		rc.kind[name] = ChangeRemove
		rc.removed = append(rc.removed, a.Routes[name].Spec)
	}
	// d.Routes is sorted by name: no need to sort the applied names.
	for _, w := range d.Routes {
		ar, ok := a.Routes[w.Name]
		switch {
		case !ok:
			rc.kind[w.Name] = ChangeAdd
		case needsReadd(ar, w, d):
			rc.kind[w.Name], rc.why[w.Name] = ChangeReadd, readdReasons(ar, w, d)
			rc.removed = append(rc.removed, ar.Spec)
		case ar.Spec.Priority != w.Priority:
			rc.kind[w.Name] = ChangeUpdate
			rc.why[w.Name] = []string{fmt.Sprintf("priority %d -> %d", ar.Spec.Priority, w.Priority)}
		}
	}
	rc.strays = sortedKeys(a.Strays)
	for _, id := range rc.strays {
		rc.removed = append(rc.removed, a.Strays[id].Spec)
	}
	rc.purge = purgeCopies(d, a.Orphans)
	rc.removed = append(rc.removed, rc.purge...)
	return rc
}

// cascade re-adds the routes that a removal would delete: a removal deletes
// every proxy route with the same path and an overlapping domain (§4), so a
// route that stays but overlaps one that goes must be removed too and added
// again in the later apply.
func (rc *routeChanges) cascade(d Desired, a Applied) {
	for changed := len(rc.removed) > 0; changed; {
		changed = false
		for _, w := range d.Routes {
			k, ok := rc.kind[w.Name]
			if ok && k != ChangeUpdate {
				continue // added, removed or re-added already
			}
			if rc.overlapsRemoved(w.Name, k, a.Routes[w.Name].Spec) {
				changed = true
			}
		}
	}
}

// overlapsRemoved marks route name, applied as spec and now of kind k, for
// re-adding if it overlaps a removed route, and reports whether it did.
func (rc *routeChanges) overlapsRemoved(name string, k ChangeKind, spec RouteSpec) bool {
	for _, r := range rc.removed {
		if overlaps(spec, r) {
			if k == ChangeUpdate {
				rc.why[name] = nil
			}
			rc.kind[name] = ChangeReadd
			rc.why[name] = append(rc.why[name], fmt.Sprintf("overlaps removed route %s (§4)", routeText(r)))
			rc.removed = append(rc.removed, spec)
			return true
		}
	}
	return false
}

// goingAdding fills going with the names of the routes the plan removes or
// re-adds, and adding with those it adds or re-adds.
func (rc *routeChanges) goingAdding(going, adding map[string]bool) {
	for name, k := range rc.kind {
		if k == ChangeRemove || k == ChangeReadd {
			going[name] = true
		}
		if k == ChangeAdd || k == ChangeReadd {
			adding[name] = true
		}
	}
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

func routeText(r RouteSpec) string {
	return strings.Join(r.Domains, ",") + r.Path + " -> " + r.Backend
}

func healthText(h *HealthSpec) string {
	if h == nil {
		return "none"
	}
	return fmt.Sprintf("%s every %s (timeout %s)", h.Path, h.Interval, h.Timeout)
}
