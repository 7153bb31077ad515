package reconcile

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/registrysim"
)

// windowed is a service of two routes with maintenance windows.
func windowed(ws ...config.Window) *config.Config {
	c := conf(rt("web", "example.com", "/", "http://w"), rt("api", "api.example.com", "/", "http://a"))
	c.Maintenance.Windows = ws
	return c
}

func window(name string, from, until time.Time, reason string, targets ...string) config.Window {
	return config.Window{Name: name, Targets: targets, Reason: reason, From: &from, Until: &until}
}

// TestPlanWindows: a window is entered at its from and left at its until,
// a pass is due at the next of those moments, and nothing happens before.
func TestPlanWindows(t *testing.T) {
	h := time.Hour
	c := windowed(
		window("db", t0.Add(h), t0.Add(2*h), "database upgrade", "api"),
		window("all", t0.Add(2*h), t0.Add(3*h), "", ""), // starts as db ends
		window("web", t0.Add(5*h), t0.Add(6*h), "", "web"),
	)
	c.Maintenance.Windows[1].Targets = nil // the whole service
	d := desired(c)
	a := applied(t, conf(c.Routes...))
	timeline := []struct {
		at      time.Time
		want    []string
		requeue time.Time
	}{
		{t0, nil, t0.Add(h)},
		{t0.Add(h), []string{"MAINT_ENTER api "}, t0.Add(2 * h)},
		{t0.Add(90 * time.Minute), nil, t0.Add(2 * h)},
		// One window ends as the next begins: one plan goes from one
		// to the other (api stays in maintenance).
		{t0.Add(2 * h), []string{"MAINT_ENTER ALL "}, t0.Add(3 * h)},
		{t0.Add(3 * h), []string{"MAINT_EXIT ALL"}, t0.Add(5 * h)},
		{t0.Add(5 * h), []string{"MAINT_ENTER web "}, t0.Add(6 * h)},
		{t0.Add(6 * h), []string{"MAINT_EXIT web"}, time.Time{}},
	}
	for _, s := range timeline {
		got := Plan(d, a, PlanOptions{Now: s.at})
		eqSteps(t, got, s.want...)
		if len(got.Changes) != 0 {
			t.Fatalf("at %v: route changes %v", s.at, Diff(got))
		}
		if !got.RequeueAt.Equal(s.requeue) {
			t.Fatalf("at %v: RequeueAt = %v, want %v", s.at, got.RequeueAt, s.requeue)
		}
		a = simulate(t, a, got)
		if again := Plan(d, a, PlanOptions{Now: s.at}); !again.Empty() {
			t.Fatalf("at %v: second plan %v", s.at, steps(again))
		}
	}
}

// TestPlanBackToBackWindows: as one window ends and the next begins, one
// plan leaves the first's targets and enters the second's.
func TestPlanBackToBackWindows(t *testing.T) {
	h := time.Hour
	c := windowed(window("a", t0, t0.Add(h), "", "api"), window("w", t0.Add(h), t0.Add(2*h), "", "web"))
	d := desired(c)
	a := simulate(t, applied(t, conf(c.Routes...)), Plan(d, applied(t, conf(c.Routes...)), PlanOptions{Now: t0}))
	got := Plan(d, a, PlanOptions{Now: t0.Add(h)})
	eqSteps(t, got, "MAINT_EXIT api", "MAINT_ENTER web ")
}

// TestDiffShowsWindows: the plan lists the windows in force and to come,
// also when nothing changes now, and not those that are over.
func TestDiffShowsWindows(t *testing.T) {
	h := time.Hour
	c := windowed(
		window("old", t0.Add(-2*h), t0.Add(-h), "", "web"),
		window("db", t0.Add(h), t0.Add(2*h), "database upgrade", "api", "web"),
	)
	c.Maintenance.Enabled = true
	until := t0.Add(30 * time.Minute)
	c.Maintenance.Until = &until
	a := applied(t, c)
	got := Plan(desired(c), a, PlanOptions{Now: t0})
	want := "no changes\n" +
		"@ maintenance window maintenance (in force): every route until 2026-01-02T03:34:05Z\n" +
		"@ maintenance window db (upcoming): api,web from 2026-01-02T04:04:05Z until 2026-01-02T05:04:05Z, reason: database upgrade\n"
	if d := Diff(got); d != want {
		t.Fatalf("Diff:\n%s\nwant:\n%s", d, want)
	}
	c.Maintenance.Until = nil
	c.Maintenance.Windows = nil
	if d := Diff(Plan(desired(c), a, PlanOptions{Now: t0})); !strings.HasSuffix(d, "(in force): every route, no end\n") {
		t.Fatalf("Diff:\n%s", d)
	}
}

// fakeClock is the reconciler's injected clock, moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// clockedProcess is process with the reconciler on clk.
func clockedProcess(t *testing.T, srv *registrysim.Server, box *memoryBox, clk *fakeClock) *harness {
	t.Helper()
	return attachHarness(t, srv, nil, Options{Service: "svc", Instance: "i1", Inherited: box.last(), Remember: box.remember, Now: clk.Now})
}

// due runs one pass on the desired state already set, as the Run loop
// does when a pass falls due, and returns when the next one is due.
func (h *harness) due() Result {
	helper(h.tb)
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	res, err := h.r.Reconcile(ctx)
	if err != nil {
		h.tb.Fatalf("reconcile: %v", err)
	}
	return res
}

// TestWindowAcrossAgentAndProxyRestarts: with the file unchanged, a
// window is entered at its from and left at its until, with the agent
// killed and restarted (a new process with its state file) and the proxy
// restarted in between.
func TestWindowAcrossAgentAndProxyRestarts(t *testing.T) {
	srv := startSim(t)
	box := &memoryBox{}
	clk := &fakeClock{t: t0}
	from, until := t0.Add(time.Hour), t0.Add(2*time.Hour)
	c := shopConfig("http://a:3000")
	c.Maintenance.Windows = []config.Window{window("upgrade", from, until, "admin upgrade", "admin")}
	d := desired(c)
	admin := func() registrysim.TargetKind { return srv.Resolve("shop.test", "/admin/x").Kind }
	step := func(h *harness, at time.Time, wantMaint bool, wantNext time.Duration) {
		t.Helper()
		clk.set(at)
		res := h.due()
		h.check(d, at)
		if got := admin() == registrysim.TargetMaintenance; got != wantMaint {
			t.Fatalf("at %s: admin in maintenance %v, want %v", at.Sub(t0), got, wantMaint)
		}
		if res.RequeueAfter != wantNext {
			t.Fatalf("at %s: next pass in %v, want %v", at.Sub(t0), res.RequeueAfter, wantNext)
		}
	}

	p1 := clockedProcess(t, srv, box, clk)
	p1.r.setDesired(d, 0, 0) // read once: no edit from here on
	step(p1, t0, false, time.Hour)
	// The status lists the window to come, then in force.
	if ws := p1.r.Status().Windows; len(ws) != 1 || ws[0].Name != "upgrade" || ws[0].InForce || !ws[0].From.Equal(from) ||
		!ws[0].Until.Equal(until) || ws[0].Reason != "admin upgrade" || !slices.Equal(ws[0].Targets, []string{"admin"}) ||
		!slices.Equal(ws[0].Routes, []string{"admin"}) {
		t.Fatalf("status windows before from: %+v", ws)
	}
	step(p1, from.Add(-time.Second), false, time.Second)
	step(p1, from, true, time.Hour)
	if ws := p1.r.Status().Windows; len(ws) != 1 || !ws[0].InForce {
		t.Fatalf("status windows at from: %+v", ws)
	}
	killed(t, p1)

	// A new process, as after a crash: the file and the state file.
	p2 := clockedProcess(t, srv, box, clk)
	p2.r.setDesired(d, 0, 0)
	step(p2, from.Add(20*time.Minute), true, 40*time.Minute)

	gen := p2.cl.Generation()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	p2.waitGeneration(gen)
	step(p2, from.Add(30*time.Minute), true, 30*time.Minute)

	step(p2, until, false, 0)
	if ws := p2.r.Status().Windows; len(ws) != 0 {
		t.Fatalf("status windows after until: %+v", ws)
	}
	if ids, err := maintenanceStatus(p2.ctx, p2.cl); err != nil || len(ids) != 0 {
		t.Fatalf("MAINT_STATUS after the window = %q, %v", ids, err)
	}
	if got := srv.InMaintenance(); len(got) != 0 {
		t.Fatalf("backends in maintenance after the window: %v", got)
	}
}

// TestRunFollowsWindows: the Run loop enters and leaves a window by itself,
// on the real clock, the desired state set once.
func TestRunFollowsWindows(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	c := windowed(window("soon", start.Add(300*time.Millisecond), start.Add(600*time.Millisecond), "", "api"))
	d := desired(c)
	h.r.setDesired(d, 0, 0)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// The command log keeps every line: a phase cannot be missed.
	maint := func() []string {
		var out []string
		for _, l := range h.srv.Commands() {
			if strings.HasPrefix(l, "MAINT_ENTER|") || strings.HasPrefix(l, "MAINT_EXIT|") {
				out = append(out, l[:strings.IndexByte(l, '|')])
			}
		}
		return out
	}
	waitFor(t, func() bool { return len(maint()) >= 2 })
	if got := maint(); len(got) != 2 || got[0] != "MAINT_ENTER" || got[1] != "MAINT_EXIT" {
		t.Fatalf("maintenance commands %q, want an enter then an exit", got)
	}
	if !time.Now().After(start.Add(600 * time.Millisecond)) {
		t.Fatal("left maintenance before the window's until")
	}
	waitFor(t, func() bool { return h.r.Status().Converged })
	h.check(d, time.Now())
}
