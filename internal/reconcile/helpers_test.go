package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
)

// rt builds a config route; domains are comma separated.
func rt(name, domains, path, backend string) config.Route {
	return config.Route{Name: name, Domains: strings.Split(domains, ","), Path: path, Backend: backend}
}

func withHealth(r config.Route, path string) config.Route {
	r.HealthCheck = &config.HealthCheck{Path: path, Interval: config.Duration(10 * time.Second), Timeout: config.Duration(2 * time.Second)}
	return r
}

func withPriority(r config.Route, p int) config.Route {
	r.Priority = p
	return r
}

func conf(routes ...config.Route) *config.Config {
	return &config.Config{Service: config.Service{Name: "svc", Instance: "i1"}, Routes: routes}
}

func desired(c *config.Config) Desired { return FromConfig(c, "10.0.0.5") }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func plan(d Desired, a Applied) Changeset {
	return Plan(d, a, PlanOptions{Now: t0})
}

func steps(c Changeset) []string {
	var out []string
	for _, s := range c.Steps {
		out = append(out, s.String())
	}
	return out
}

// simulate runs a plan as the executor would when every command succeeds,
// numbering new routes after the highest id in use.
func simulate(tb testing.TB, a Applied, c Changeset) Applied {
	tb.Helper()
	next := 100
	for _, r := range a.Routes {
		var n int
		fmt.Sscanf(r.ID, "r%d", &n)
		next = max(next, n+1)
	}
	t := newTracker(a)
	for _, s := range c.Steps {
		switch s.Kind {
		case StepRouteAdd:
			t.added(s, fmt.Sprintf("r%d", next))
			next++
		case StepRouteRemove:
			id, ok := t.id(s)
			if !ok {
				tb.Fatalf("step %v: no id", s)
			}
			t.removed(s, id)
		case StepRouteUpdate:
			t.updated(s)
		case StepHealthSet:
			if _, ok := t.id(s); !ok {
				tb.Fatalf("step %v: no id", s)
			}
			h := s.Health
			h.Path = "/" + h.Path
			t.healthSet(s, &h)
		case StepOptionSet:
			t.optionSet(s)
		case StepHeaderSet:
			t.headerSet(s)
		case StepApply:
			t.commit()
		case StepMaintEnter, StepMaintExit:
			t.maintDone(s)
		}
	}
	if t.staged() {
		tb.Fatalf("plan ends with staged work: %v", steps(c))
	}
	return t.a
}

// converge plans from a and simulates the plan, checking the invariants
// every plan must keep, and that planning again yields nothing (planner rule 1).
func converge(tb testing.TB, d Desired, a Applied) (Changeset, Applied) {
	tb.Helper()
	c := plan(d, a)
	if c.Err != nil {
		tb.Fatalf("plan: %v", c.Err)
	}
	checkApplies(tb, c)
	n := simulate(tb, a, c)
	if again := plan(d, n); !again.Empty() {
		tb.Fatalf("second plan not empty after %v:\n%v", steps(c), steps(again))
	}
	return c, n
}

// checkApplies fails when one apply both removes and adds (§4: remove and
// add of an overlapping domain+path in one apply ends in a permanent 503;
// keeping them in separate applies is the planner's invariant). A keeper
// route, on a host of its own, overlaps nothing and may share the apply of
// the removals its backend outlives (§9).
func checkApplies(tb testing.TB, c Changeset) {
	tb.Helper()
	var adds, removes int
	for _, s := range c.Steps {
		switch s.Kind {
		case StepRouteAdd:
			if !strings.HasPrefix(s.Key, keepPrefix) {
				adds++
			}
		case StepRouteRemove:
			removes++
		case StepApply:
			if adds > 0 && removes > 0 {
				tb.Fatalf("an apply both adds and removes: %v", steps(c))
			}
			adds, removes = 0, 0
		}
	}
	if adds+removes > 0 {
		tb.Fatalf("staged work without apply: %v", steps(c))
	}
}

func eqSteps(tb testing.TB, got Changeset, want ...string) {
	tb.Helper()
	if g := steps(got); !slices.Equal(g, want) {
		tb.Fatalf("steps:\n got %q\nwant %q", g, want)
	}
}

// staged reports whether anything awaits an apply.
func (t *tracker) staged() bool {
	return len(t.adds)+len(t.removes)+len(t.updates)+len(t.options)+len(t.headers) > 0
}
