package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/agent"
	"regagent/internal/client"
	"regagent/internal/registrysim"
)

const maintPage = "http://maint.example.com/page"

// pageMode is how the maintenance page answers the registry's check (§5).
type pageMode int

const (
	pageUp    pageMode = iota // reachable: MAINT_OK at once
	pageDown                  // never reachable: local fallback after maintenance_timeout
	pageLater                 // reachable only after the local fallback: a late MAINT_OK

	pageModes = 3
)

func (p pageMode) String() string {
	return [...]string{"reachable", "unreachable", "reachable_later"}[p]
}

// Scenario 7: maintenance entered and left again and again by editing the
// file: for the whole service, by path and by domain target, with the page
// reachable, unreachable (local fallback after maintenance_timeout,
// shortened to 300ms) and reachable only later (confirmed late). After
// every edit the simulated proxy serves the page for exactly the targeted
// routes (or nothing in maintenance after an exit), the events say what
// happened, and the status reports proxy or local confirmation.
//
// The cycles walk the 9 pairs of target kind and page mode twice, in the
// same order: the first round enters each pair after a cycle of another
// pair, the second enters it again after it was entered and left once
// (a local fallback or a late confirmation of the first round must leave
// nothing behind). The sequence is fixed, so a third round would repeat
// the transitions of the second.
func TestMaintenanceByEditingTheFile(t *testing.T) {
	t.Parallel()
	var up atomic.Bool
	sim := registrysim.Options{
		MaintInterval: 20 * time.Millisecond,
		MaintTimeout:  10 * time.Second,
		// Only the page can be unreachable; backends (checked on exit)
		// always answer.
		Checker: registrysim.CheckerFunc(func(_ context.Context, url string) error {
			if url == maintPage && !up.Load() {
				return errors.New("connection refused")
			}
			return nil
		}),
	}
	routes := []route{
		{name: "web", domains: []string{"a.example.com"}, path: "/", backend: "http://web:3000"},
		{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://api:3001"},
		{name: "admin", domains: []string{"admin.example.com"}, path: "/", backend: "http://admin:3002"},
	}
	proxy := []string{"keepalive_interval: 1s", "maintenance_timeout: 300ms"}
	off := file{proxy: proxy, routes: routes}.render()
	r := startRun(t, off, setup{sim: sim})
	r.firstApply(routes)

	variants := []struct {
		name   string
		block  string
		routes []string // names of the routes in maintenance
		target func() string
	}{
		{"service", "maintenance:\n  enabled: true\n  page: " + maintPage + "\n",
			[]string{"web", "api", "admin"}, func() string { return "ALL" }},
		{"path", "maintenance:\n  enabled: true\n  targets: [/api]\n  page: " + maintPage + "\n",
			[]string{"api"}, func() string { return r.sim.Resolve("a.example.com", "/api").RouteID }},
		{"domain", "maintenance:\n  enabled: true\n  targets: [admin.example.com]\n  page: " + maintPage + "\n",
			[]string{"admin"}, func() string { return r.sim.Resolve("admin.example.com", "/").RouteID }},
	}

	cycles := 2 * len(variants) * pageModes
	counts := map[string]int{}
	for i := range cycles {
		v := variants[i%len(variants)]
		mode := pageMode(i / len(variants) % pageModes)
		name := fmt.Sprintf("cycle %d (%s, page %s)", i+1, v.name, mode)
		counts[v.name+"/"+mode.String()]++
		target := v.target()
		up.Store(mode == pageUp)

		// Enter.
		m := r.events.mark()
		r.write(file{proxy: proxy, routes: routes, maintenance: v.block}.render())
		_, pos := r.events.await(t, name+": MAINT_REQUESTED "+target, m, func(ev agent.Event) bool {
			return ev.Name == agent.EventMaintRequested && maintTarget(ev) == target
		})
		outcome, pos := r.events.await(t, name+": enter outcome", pos, func(ev agent.Event) bool {
			return (ev.Name == agent.EventMaintProxyEntered || ev.Name == agent.EventMaintLocalEntered) && maintTarget(ev) == target
		})
		wantName, wantMode := agent.EventMaintProxyEntered, "proxy"
		if mode != pageUp {
			wantName = agent.EventMaintLocalEntered
		}
		if outcome.Name != wantName || maintLate(outcome) {
			t.Fatalf("%s: got %s %+v, want %s", name, outcome.Name, outcome.Detail, wantName)
		}
		if mode == pageDown {
			wantMode = "local"
		}
		if mode == pageLater {
			up.Store(true)
			r.events.await(t, name+": late MAINT_PROXY_ENTERED", pos, func(ev agent.Event) bool {
				return ev.Name == agent.EventMaintProxyEntered && maintTarget(ev) == target && maintLate(ev)
			})
		}
		r.await(agent.EventConfigApplied, m)
		if err := maintRouting(r.sim, routes, v.routes); err != nil {
			t.Fatalf("%s: after enter: %v", name, err)
		}
		if err := maintStatus(r, target, true, wantMode); err != nil {
			t.Fatalf("%s: after enter: %v", name, err)
		}

		// Exit.
		m = r.events.mark()
		r.write(off)
		_, pos = r.events.await(t, name+": MAINT_EXIT_REQUESTED "+target, m, func(ev agent.Event) bool {
			return ev.Name == agent.EventMaintExitRequested && maintTarget(ev) == target
		})
		outcome, _ = r.events.await(t, name+": exit outcome", pos, func(ev agent.Event) bool {
			return (ev.Name == agent.EventMaintProxyExited || ev.Name == agent.EventMaintLocalExited) && maintTarget(ev) == target
		})
		if outcome.Name != agent.EventMaintProxyExited {
			t.Fatalf("%s: got %s %+v, want MAINT_PROXY_EXITED", name, outcome.Name, outcome.Detail)
		}
		r.await(agent.EventConfigApplied, m)
		if err := maintRouting(r.sim, routes, nil); err != nil {
			t.Fatalf("%s: after exit: %v", name, err)
		}
		if err := maintStatus(r, target, false, "proxy"); err != nil {
			t.Fatalf("%s: after exit: %v", name, err)
		}
	}
	if errs := r.events.count(0, isType(agent.EventError)); errs != 0 {
		t.Errorf("%d ERROR events during the maintenance cycles", errs)
	}
	t.Logf("e2e: maintenance cycles=%d per_variant=%v", cycles, counts)
}

// maintRouting checks that exactly the named routes show the maintenance
// page and every other route reaches its backend, and that the proxy keeps
// maintenance for exactly their backends (§5).
func maintRouting(sim *registrysim.Server, routes []route, inMaint []string) error {
	var backends []string
	for _, rt := range routes {
		want := slices.Contains(inMaint, rt.name)
		if want {
			backends = append(backends, rt.backend)
		}
		for _, d := range rt.domains {
			got := sim.Resolve(d, rt.path)
			switch {
			case want && (got.Kind != registrysim.TargetMaintenance || got.Page != maintPage):
				return fmt.Errorf("Resolve(%s, %s) = %v page %q, want the maintenance page", d, rt.path, got.Kind, got.Page)
			case !want && (got.Kind != registrysim.TargetBackend || got.Backend != rt.backend):
				return fmt.Errorf("Resolve(%s, %s) = %v %q, want backend %s", d, rt.path, got.Kind, got.Backend, rt.backend)
			}
		}
	}
	slices.Sort(backends)
	if got := sim.InMaintenance(); !slices.Equal(got, backends) {
		return fmt.Errorf("backends in maintenance = %q, want %q", got, backends)
	}
	return nil
}

// maintStatus checks the agent's status for target: entered or not, and
// confirmed by the proxy or handled locally.
func maintStatus(r *run, target string, entered bool, mode string) error {
	for _, m := range r.snapshot().Reconciler.Maintenance {
		if m.Target == target {
			if m.Entered != entered || m.Mode != mode {
				return fmt.Errorf("status for %s: entered=%v mode=%s, want entered=%v mode=%s", target, m.Entered, m.Mode, entered, mode)
			}
			return nil
		}
	}
	return fmt.Errorf("status has no maintenance entry for %s", target)
}

// maintTarget is the target of a maintenance event, "" for another event.
func maintTarget(ev agent.Event) string {
	switch d := ev.Detail.(type) {
	case client.MaintRequested:
		return d.Target
	case client.MaintResolved:
		return d.Target
	}
	return ""
}

// maintLate tells a confirmation that came after the local fallback.
func maintLate(ev agent.Event) bool {
	d, ok := ev.Detail.(client.MaintResolved)
	return ok && d.Late
}
