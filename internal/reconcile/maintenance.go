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

// planMaintenance compares desired maintenance with what was entered. The
// proxy keeps maintenance on a backend object shared by every route with
// the same backend URL string, which lives as long as one of them does
// (§5, §9), so the backend is the unit compared. A route removed and added
// again would get a fresh object, out of maintenance: a keeper route holds
// the object across the re-add, and the new id is entered again so that
// MAINT_STATUS lists it. Nothing here re-adds a route (rule 7). going holds the names of the
// routes the plan removes or re-adds, adding those it adds or re-adds. Targets come
// resolved to route names (config decides what a target designates), and
// the executor turns those into this session's route ids; the server
// would accept a path or domain and change nothing (§5).
func planMaintenance(d Desired, a Applied, now time.Time, going, adding map[string]bool) maintPlan {
	var m maintPlan
	dm := d.Maintenance
	active := dm.Active(now) // `until` in the past: maintenance is over
	if active && dm.Until != nil {
		m.requeueAt = *dm.Until
	}
	wantAll := active && len(dm.Targets) == 0

	// want maps each backend to be in maintenance to the route names
	// that reach it.
	want := map[string][]string{}
	var targets []string
	if active {
		designated := make(map[string]bool, len(dm.Routes))
		for _, n := range dm.Routes {
			designated[n] = true
		}
		for _, r := range d.Routes {
			if wantAll || designated[r.Name] {
				want[r.Backend] = append(want[r.Backend], r.Name)
				targets = append(targets, r.Name)
			}
		}
		for _, t := range dm.Unmatched {
			m.warnings = append(m.warnings, fmt.Sprintf("maintenance target %q matches no route", t))
		}
		if !wantAll {
			for _, r := range d.Routes {
				if _, ok := want[r.Backend]; ok && !slices.Contains(targets, r.Name) {
					m.warnings = append(m.warnings, fmt.Sprintf(
						"route %q is not a maintenance target but shares backend %s with one: the proxy puts it in maintenance too (§5)",
						r.Name, r.Backend))
				}
			}
		}
	}

	am := a.Maintenance
	in := maps.Clone(am.Backends) // backends in maintenance after the exits
	if in == nil {
		in = map[string]string{}
	}
	if am.All && !wantAll && len(a.Routes) > 0 {
		m.preExit = append(m.preExit, Step{Kind: StepMaintExit, All: true})
		for _, r := range a.Routes {
			delete(in, r.Spec.Backend)
		}
	}
	// Leave maintenance for backends no longer wanted, by a route that
	// uses the backend now (before it is removed or changed) or, for
	// maintenance left from an earlier session, after the routes are added.
	gone := map[string]bool{}
	for b := range in {
		gone[b] = true
	}
	for b := range am.Stale {
		gone[b] = true
	}
	var pre, post, release []string
	for _, b := range slices.Sorted(maps.Keys(gone)) {
		if _, ok := want[b]; ok {
			continue
		}
		names := appliedUsing(a, b)
		stillTargets := func(n string) bool { return going[n] && slices.Contains(targets, n) }
		switch {
		case len(names) > 0 && slices.ContainsFunc(names, func(n string) bool { return !stillTargets(n) }):
			pre = append(pre, names...)
		case len(desiredUsing(d, b)) > 0:
			// Leave b after the adds, through a route of ours that will
			// use it.
			post = append(post, desiredUsing(d, b)...)
		default:
			// No route of ours will use b: every route on it goes away
			// but stays a target under a new backend (leaving b first
			// would show it live until the removal), or it was left
			// from an earlier session. The proxy keeps b in maintenance
			// for any route using that string later (§5): release it
			// through a temporary route.
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

	var enter []string
	for b, names := range want {
		if p, ok := in[b]; !ok || p != dm.Page {
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
	switch {
	case wantAll && (!am.All || len(enter) > 0 || len(adding) > 0):
		// ALL covers the routes applied when it is entered; entering it
		// again after adds keeps a later MAINT_EXIT ALL complete.
		m.post = append(m.post, Step{Kind: StepMaintEnter, All: true, Page: dm.Page, Reason: dm.Reason})
	case !wantAll && len(enter) > 0:
		m.post = append(m.post, Step{Kind: StepMaintEnter, Targets: sortedUniq(enter), Page: dm.Page, Reason: dm.Reason})
	}
	return m
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
