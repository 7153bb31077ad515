package reconcile

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"
)

type maintPlan struct {
	preExit []Step // before any route change, while the old ids exist
	post    []Step // after the routes are applied, with the new ids
	// keep are the backends in maintenance whose routes the plan re-adds:
	// a keeper route holds each one's backend object, and so its
	// maintenance, across the re-add (§9).
	keep      []string
	warnings  []string
	requeueAt time.Time
}

// planMaintenance compares desired maintenance with what was entered, in
// steps: what is wanted (and the warnings it calls for), the exits and
// releases of what is no longer wanted, then the enters and keepers. The
// proxy keeps maintenance on a backend object shared by every route with
// the same backend URL string, which lives as long as one of them does
// (§5, §9), so the backend is the unit compared. A route removed and added
// again would get a fresh object, out of maintenance: a keeper route holds
// the object across the re-add, and the new id is entered again so that
// MAINT_STATUS lists it. Nothing here re-adds a route (planner rule 7,
// docs/planner.md). going holds the names of the routes the plan removes
// or re-adds, adding those it adds or re-adds. Targets come resolved to
// route names (config decides what a target designates), and the executor
// turns those into this session's route ids; the server would accept a
// path or domain and change nothing (§5).
func planMaintenance(d Desired, a Applied, now time.Time, going, adding map[string]bool) maintPlan {
	w := wantedMaintenance(d, now)
	m := maintPlan{warnings: w.warnings(d), requeueAt: d.Maintenance.Next(now)}
	in := m.planExits(w, d, a, going)
	m.planEnters(w, a, in, going, adding)
	return m
}

// maintWant is the maintenance a desired state asks for now.
type maintWant struct {
	active bool // a window is in force
	all    bool // ALL: the whole service
	// backends maps each backend to be in maintenance to the target
	// routes that reach it.
	backends     map[string][]string
	targets      map[string]bool // the target route names
	unmatched    []string        // targets that designate no route
	page, reason string
}

// wantedMaintenance resolves the window of d in force at now to backends:
// the proxy keeps maintenance per backend URL string (§5).
func wantedMaintenance(d Desired, now time.Time) maintWant {
	win, active := d.Maintenance.At(now)
	w := maintWant{active: active, backends: map[string][]string{}, page: d.Maintenance.Page, reason: win.Reason}
	if !w.active {
		return w
	}
	w.all, w.unmatched = len(win.Targets) == 0, win.Unmatched
	w.targets = make(map[string]bool, len(win.Routes))
	designated := make(map[string]bool, len(win.Routes))
	for _, n := range win.Routes {
		designated[n] = true
	}
	for _, r := range d.Routes {
		if w.all || designated[r.Name] {
			w.backends[r.Backend] = append(w.backends[r.Backend], r.Name)
			w.targets[r.Name] = true
		}
	}
	return w
}

// warnings are the targets that match nothing, and the routes the proxy
// puts in maintenance without being targets: they share a backend with
// one (§5).
func (w maintWant) warnings(d Desired) []string {
	var out []string
	for _, t := range w.unmatched {
		out = append(out, fmt.Sprintf("maintenance target %q matches no route", t))
	}
	if !w.active || w.all {
		return out
	}
	for _, r := range d.Routes {
		if _, ok := w.backends[r.Backend]; ok && !w.targets[r.Name] {
			out = append(out, fmt.Sprintf(
				"route %q is not a maintenance target but shares backend %s with one: the proxy puts it in maintenance too (§5)",
				r.Name, r.Backend))
		}
	}
	return out
}

// planExits leaves maintenance for the backends no longer wanted, and
// returns the backends still in maintenance after the exits, with their
// page.
func (m *maintPlan) planExits(w maintWant, d Desired, a Applied, going map[string]bool) map[string]string {
	in := m.exitAll(w, a)
	gone := map[string]bool{} // on the stack, unlike a clone of in
	for b := range in {
		gone[b] = true
	}
	for b := range a.Maintenance.Stale {
		gone[b] = true
	}
	var pre, post, release []string
	for _, b := range slices.Sorted(maps.Keys(gone)) {
		if _, ok := w.backends[b]; ok {
			continue
		}
		switch names, by := leaveBy(w, d, a, b, going); by {
		case leaveBefore:
			pre = append(pre, names...)
		case leaveAfter:
			post = append(post, names...)
		case leaveByRelease:
			release = append(release, b)
		}
		delete(in, b)
	}
	if len(pre) > 0 {
		m.preExit = append(m.preExit, Step{Kind: StepMaintExit, Targets: sortedUniq(pre)})
	}
	m.post = append(m.post, releaseSteps(d.Service, release)...)
	if len(post) > 0 {
		m.post = append(m.post, Step{Kind: StepMaintExit, Targets: sortedUniq(post)})
	}
	return in
}

// exitAll leaves ALL when it is no longer wanted, and returns the backends
// still in maintenance after it, with their page: those of the routes
// applied leave with it.
func (m *maintPlan) exitAll(w maintWant, a Applied) map[string]string {
	in := maps.Clone(a.Maintenance.Backends)
	if in == nil {
		in = map[string]string{}
	}
	if a.Maintenance.All && !w.all && len(a.Routes) > 0 {
		m.preExit = append(m.preExit, Step{Kind: StepMaintExit, All: true})
		for _, r := range a.Routes {
			delete(in, r.Spec.Backend)
		}
	}
	return in
}

// leaveWay is how a backend leaves maintenance.
type leaveWay uint8

const (
	leaveBefore    leaveWay = iota // by the routes that use it now, before any route change
	leaveAfter                     // by the routes that will use it, after the adds
	leaveByRelease                 // by a temporary route (releaseSteps)
)

// leaveBy says how backend b, no longer wanted in maintenance, leaves it,
// and by which routes.
func leaveBy(w maintWant, d Desired, a Applied, b string, going map[string]bool) ([]string, leaveWay) {
	// Through a route that uses b now, before it is removed or changed.
	if names := appliedUsing(a, b); slices.ContainsFunc(names, func(n string) bool { return !going[n] || !w.targets[n] }) {
		return names, leaveBefore
	}
	// After the adds, through a route of ours that will use b
	// (maintenance left from an earlier session, for one).
	if names := desiredUsing(d, b); len(names) > 0 {
		return names, leaveAfter
	}
	// No route of ours will use b: every route on it goes away but stays
	// a target under a new backend (leaving b first would show it live
	// until the removal), or it was left from an earlier session. The
	// proxy keeps b in maintenance for any route using that string later
	// (§5): release it through a temporary route.
	return nil, leaveByRelease
}

// planEnters enters maintenance for the wanted backends not in it with the
// wanted page (in), and again for the routes the plan adds to a backend
// already in it, so that MAINT_STATUS lists their new ids. A backend in
// maintenance whose routes the plan re-adds gets a keeper route.
func (m *maintPlan) planEnters(w maintWant, a Applied, in map[string]string, going, adding map[string]bool) {
	var enter []string
	for b, names := range w.backends {
		if p, ok := in[b]; !ok || p != w.page {
			enter = append(enter, names...)
			continue
		}
		for _, n := range names {
			if adding[n] {
				enter = append(enter, n)
			}
		}
		if slices.ContainsFunc(appliedUsing(a, b), func(n string) bool { return going[n] }) {
			m.keep = append(m.keep, b)
		}
	}
	slices.Sort(m.keep)
	m.enter(w, a, enter, adding)
}

// enter is the MAINT_ENTER of the routes in enter, or of ALL.
func (m *maintPlan) enter(w maintWant, a Applied, enter []string, adding map[string]bool) {
	switch {
	case w.all && (!a.Maintenance.All || len(enter) > 0 || len(adding) > 0):
		// ALL covers the routes applied when it is entered; entering it
		// again after adds keeps a later MAINT_EXIT ALL complete.
		m.post = append(m.post, Step{Kind: StepMaintEnter, All: true, Page: w.page, Reason: w.reason})
	case !w.all && len(enter) > 0:
		m.post = append(m.post, Step{Kind: StepMaintEnter, Targets: sortedUniq(enter), Page: w.page, Reason: w.reason})
	}
}

// releaseSteps take backends no route of ours uses out of maintenance: a
// copy route per backend on a host name nobody requests, applied; MAINT_EXIT
// of the copies; the copies removed, applied. The removal deletes nothing
// else: no other route has that host (§4).
func releaseSteps(service string, backends []string) []Step {
	if len(backends) == 0 {
		return nil
	}
	var steps, removes []Step
	keys := make([]string, len(backends))
	for i, b := range backends {
		keys[i] = releaseKey(i)
		steps = append(steps, Step{Kind: StepRouteAdd, Key: keys[i],
			Route: RouteSpec{Domains: []string{releaseHost(service, b)}, Path: "/", Backend: b}})
		removes = append(removes, Step{Kind: StepRouteRemove, Key: keys[i]})
	}
	steps = append(steps, Step{Kind: StepApply}, Step{Kind: StepMaintExit, Targets: keys, Release: backends})
	steps = append(steps, removes...)
	return append(steps, Step{Kind: StepApply})
}

// keepHost is the host of a keeper route: like releaseHost, one nobody
// requests.
func keepHost(service, backend string) string {
	h := fnv.New64a()
	h.Write([]byte(service + "|" + backend))
	return fmt.Sprintf("maint-keep-%016x.regagent.invalid", h.Sum64())
}

// releaseHost is the host of a release copy: under .invalid, which never
// resolves (RFC 2606), and distinct per service and backend.
func releaseHost(service, backend string) string {
	h := fnv.New64a()
	h.Write([]byte(service + "|" + backend))
	return fmt.Sprintf("maint-release-%016x.regagent.invalid", h.Sum64())
}

func appliedUsing(a Applied, backend string) []string {
	var names []string
	for name, r := range a.Routes {
		if r.Spec.Backend == backend {
			names = append(names, name)
		}
	}
	return names
}

func desiredUsing(d Desired, backend string) []string {
	var names []string
	for _, r := range d.Routes {
		if r.Backend == backend {
			names = append(names, r.Name)
		}
	}
	return names
}

func sortedUniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func maintText(s Step) string {
	if s.All {
		return "ALL"
	}
	return strings.Join(s.Targets, ",")
}
