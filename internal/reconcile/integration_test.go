package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
)

func TestIntegrationSyncAndBackendChange(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("web", "example.com,www.example.com", "/", "http://w:3000"), withHealth(rt("api", "example.com", "/api", "http://a"), "/health"))
	c.Headers = map[string]string{"X-Env": "prod"}
	c.Options = map[string]string{"timeout": "30s"}
	d := desired(c)
	h.sync(d)
	h.check(d, time.Now())
	if n := len(reportsOf[RouteAdded](h)); n != 2 {
		t.Fatalf("RouteAdded reports = %d, want 2", n)
	}
	if n := len(reportsOf[HealthCheckSet](h)); n != 1 {
		t.Fatalf("HealthCheckSet reports = %d, want 1", n)
	}

	// Planner rule 1: nothing changed, nothing sent.
	h.srv.ResetCommands()
	h.sync(d)
	if cmds := h.srv.Commands(); len(cmds) != 0 {
		t.Fatalf("unchanged config sent %q", cmds)
	}

	// Planner rule 4: one backend change is one write: remove, apply, (the
	// option and header set), add, apply.
	c.Routes[0].Backend = "http://w2:3000"
	d = desired(c)
	before := h.r.Status().Writes
	h.sync(d)
	h.check(d, time.Now())
	if w := h.r.Status().Writes - before; w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
	var names []string
	for _, line := range h.srv.Commands() {
		names = append(names, strings.SplitN(line, "|", 2)[0])
	}
	want := "ROUTE_REMOVE CONFIG_APPLY OPTIONS_SET HEADERS_SET ROUTE_ADD CONFIG_APPLY"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("commands %q, want %q", got, want)
	}
	if rep := reportsOf[ConfigApplied](h); len(rep) != 2 || rep[1].Changes.Readded != 1 || rep[1].Writes != 1 {
		t.Fatalf("ConfigApplied reports %+v", rep)
	}
}

func TestIntegrationReplayAfterRestart(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("web", "example.com", "/", "http://w"), withHealth(rt("api", "example.com", "/api", "http://a"), "/h"))
	c.Headers = map[string]string{"X-A": "1"}
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"api"}}
	d := desired(c)
	h.sync(d)
	h.check(d, time.Now())

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()

	gen := h.cl.Generation()
	if err := h.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	h.waitGeneration(gen)
	// Run notices the new session through HandleEvent and replays.
	waitFor(t, func() bool {
		s := h.r.Status()
		return s.Generation == h.cl.Generation() && s.Replays == 1 && s.LastError == "" && len(h.srv.ProxyRoutes()) == 2 && len(h.srv.InMaintenance()) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.check(d, time.Now())
	if got := h.logged("INFO new session "); len(got) != 1 || !strings.HasSuffix(got[0], ": replaying the configuration") {
		t.Fatalf("replay log lines %q", got)
	}
}

func TestIntegrationOrphanPurge(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("web", "example.com", "/", "http://old"), rt("gone", "gone.example.com", "/", "http://g"), rt("same", "same.example.com", "/", "http://s"))
	h.sync(desired(c))

	// The connection drops; while it is down the file changes the backend
	// of web and drops gone. The proxy keeps the old session's routes as
	// orphans (§7): they must be purged, or sub-paths stay on http://old
	// and gone.example.com stays served.
	gen := h.cl.Generation()
	h.srv.DropConnections()
	h.waitGeneration(gen)
	c2 := conf(rt("web", "example.com", "/", "http://new"), rt("same", "same.example.com", "/", "http://s"))
	c2.AllowMassRemoval = true
	d := desired(c2)
	h.sync(d)
	h.check(d, time.Now())
	if got := h.srv.Resolve("gone.example.com", "/x"); got.Kind != 0 {
		t.Fatalf("gone.example.com still routed: %+v", got)
	}
	if got := h.srv.Resolve("example.com", "/deep/path"); got.Backend != "http://new" {
		t.Fatalf("sub-path goes to %s", got.Backend)
	}
}

func TestIntegrationPartialApplyRecovery(t *testing.T) {
	h := newHarness(t)
	d := desired(conf(rt("web", "example.com", "/", "http://w"), withHealth(rt("api", "example.com", "/api", "http://a"), "/h")))
	// Between the write that stages the routes and the one that applies
	// them, a route with a backend the server cannot parse is staged on the
	// session: the apply is partial (§3): web and api go live in the proxy
	// without the session knowing them.
	h.r.pass.conn = &injectConn{Client: h.cl, before: 2, inject: func(ctx context.Context) {
		if err := stage(ctx, h.cl, func(b *client.Batch) {
			b.RouteAdd(client.Route{Domains: []string{"bad.example.com"}, Path: "/", Backend: "http://[::1"})
		}); err != nil {
			t.Errorf("inject: %v", err)
		}
	}}
	err := h.try(d)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid (the server refused the apply)", err)
	}
	if s := h.r.Status(); !s.Terminal || !strings.Contains(s.LastError, "failed to add route") {
		t.Fatalf("status: %+v", s)
	}
	for _, s := range h.srv.Sessions() {
		if s.RoutesStaged != 0 {
			t.Fatalf("staged routes left after the failure: %+v", s)
		}
	}
	if n := len(reportsOf[Failed](h)); n != 1 {
		t.Fatalf("Failed reports = %d", n)
	}
	// Terminal: another pass sends nothing until the config changes.
	h.srv.ResetCommands()
	if _, err := h.r.Reconcile(h.ctx); err != nil || len(h.srv.Commands()) != 0 {
		t.Fatalf("terminal state retried: err=%v commands=%q", err, h.srv.Commands())
	}
	h.r.pass.conn = h.cl
	h.sync(d) // the file is saved again
	h.check(d, time.Now())
}

// injectConn runs inject before the before-th Send: a fault on the real
// connection, not a fake client.
type injectConn struct {
	*client.Client
	before int
	sends  int
	inject func(context.Context)
}

func (c *injectConn) Send(ctx context.Context, b *client.Batch) ([]client.Result, error) {
	c.sends++
	if c.sends == c.before {
		c.inject(ctx)
	}
	return c.Client.Send(ctx, b)
}

func TestIntegrationDriftRepair(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Nanosecond // every pass compares
	d := desired(conf(rt("web", "example.com", "/", "http://w"), rt("api", "example.com", "/api", "http://a")))
	h.sync(d)
	ctx := h.ctx
	// Behind the agent's back: api removed, a stray added.
	api := h.r.Status().Routes[0]
	if err := stage(ctx, h.cl, func(b *client.Batch) {
		b.RouteRemove(api.ID)
		b.RouteAdd(client.Route{Domains: []string{"stray.example.com"}, Path: "/", Backend: "http://s"})
		b.Apply()
	}); err != nil {
		t.Fatal(err)
	}
	h.sync(d)
	h.check(d, time.Now())
	if got := h.srv.Resolve("stray.example.com", "/"); got.Kind != 0 {
		t.Fatalf("stray still routed: %+v", got)
	}
	if s := h.r.Status(); s.Drifts != 1 {
		t.Fatalf("drifts = %d, want 1", s.Drifts)
	}
	if got := h.logged("WARN drift: "); len(got) != 1 || got[0] != "WARN drift: 1 routes missing, 0 different, 1 unknown on the proxy" {
		t.Fatalf("drift log lines %q", got)
	}
}

func TestIntegrationMassRemovalRefused(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"), rt("c", "c.com", "/", "http://c"))
	h.sync(desired(c))
	h.srv.ResetCommands()
	err := h.try(desired(conf(c.Routes[0])))
	if !errors.Is(err, ErrMassRemoval) {
		t.Fatalf("err = %v, want ErrMassRemoval", err)
	}
	if cmds := h.srv.Commands(); len(cmds) != 0 {
		t.Fatalf("refused plan sent %q", cmds)
	}
	rep := reportsOf[Failed](h)
	if len(rep) != 1 || !strings.Contains(rep[0].Err.Error(), "2 of 3 live routes") {
		t.Fatalf("Failed reports: %+v", rep)
	}
	h.check(desired(c), time.Now())
}

func TestIntegrationMaintenance(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("web", "example.com", "/", "http://w"), rt("api", "example.com", "/api", "http://a"))
	h.sync(desired(c))
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"/api"}, Page: "http://page/"}
	d := desired(c)
	h.sync(d)
	h.check(d, time.Now())
	waitFor(t, func() bool {
		for _, m := range h.r.Status().Maintenance {
			if m.Entered && m.Mode == "proxy" {
				return true
			}
		}
		return false
	})
	c.Maintenance = config.Maintenance{}
	d = desired(c)
	h.sync(d)
	h.check(d, time.Now())
}

func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A priority-only change is sent as ROUTE_UPDATE priority + CONFIG_APPLY.
// The server appends the updated copy to the proxy with the headers and
// options staged in that same apply (§3, §4) - none - and the newer copy
// wins the exact domain+path: the exact path loses the service's headers
// and options while the planner believes nothing else changed.
func TestIntegrationPriorityChangeKeepsHeadersAndOptions(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("web", "example.com", "/", "http://w"))
	c.Headers = map[string]string{"X-Env": "prod"}
	c.Options = map[string]string{"timeout": "30s"}
	d := desired(c)
	h.sync(d)
	h.check(d, time.Now())

	c.Routes[0].Priority = 5
	d = desired(c)
	h.sync(d)
	h.check(d, time.Now())
}

// The blast-radius guard (planner rule 11) counts only this session's routes. After
// a reconnect the session is new and empty, while the old routes are still
// served by the proxy (§7): a truncated file read while disconnected (or
// applied on the reconnect pass) removes them all, purge included, with no
// refusal.
func TestIntegrationMassRemovalGuardAfterReconnect(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"), rt("c", "c.com", "/", "http://c"), rt("d", "d.com", "/", "http://d"))
	h.sync(desired(c))

	gen := h.cl.Generation()
	h.srv.DropConnections()
	h.waitGeneration(gen)

	// The same truncated file is refused on a live session
	// (TestIntegrationMassRemovalRefused); here it must be refused too.
	err := h.try(desired(conf(c.Routes[0])))
	if !errors.Is(err, ErrMassRemoval) {
		t.Fatalf("err = %v, want ErrMassRemoval; proxy now: %+v", err, h.srv.ProxyRoutes())
	}
	for _, dom := range []string{"b.com", "c.com", "d.com"} {
		if got := h.srv.Resolve(dom, "/"); got.Kind != 1 {
			t.Fatalf("%s no longer routed after a refused mass removal: %+v", dom, got)
		}
	}
}

// A refused plan (mass removal, planner rule 11) is terminal: Reconcile returns at
// once until SetDesired. But the last good config is still what should be
// live; after a server restart (§8) or a dropped connection the new session
// is empty and nothing is replayed: the service stays 503 until someone
// edits the file.
func TestIntegrationRefusedConfigKeepsLastGoodInForce(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"), rt("c", "c.com", "/", "http://c"))
	good := desired(c)
	h.sync(good)

	if err := h.try(desired(conf(c.Routes[0]))); !errors.Is(err, ErrMassRemoval) {
		t.Fatalf("err = %v, want ErrMassRemoval", err)
	}
	h.check(good, time.Now())

	gen := h.cl.Generation()
	if err := h.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	h.waitGeneration(gen)
	// The reconnect triggers a pass (HandleEvent); run it.
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	_, _ = h.r.Reconcile(ctx)
	for _, dom := range []string{"a.com", "b.com", "c.com"} {
		if got := h.srv.Resolve(dom, "/"); got.Kind == 0 {
			t.Fatalf("%s: 503 after a server restart; the last applied config was never replayed (proxy %+v)", dom, h.srv.ProxyRoutes())
		}
	}
}

// TestIntegrationNonApplyFailureKeepsHealthyRoutes: a failure that is not a
// refused apply (here a ROUTE_UPDATE of a route removed behind the agent's
// back) re-reads the list and repairs what it shows, without putting every
// other route through a break-before-make gap.
func TestIntegrationNonApplyFailureKeepsHealthyRoutes(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"))
	h.sync(desired(c))
	idA, idB := h.r.Applied().Routes["a"].ID, h.r.Applied().Routes["b"].ID

	var b client.Batch
	b.RouteRemove(idB)
	b.Apply()
	if _, err := h.cl.Send(h.ctx, &b); err != nil {
		t.Fatal(err)
	}
	c.Routes[1].Priority = 7
	d := desired(c)
	if err := h.try(d); err == nil {
		t.Fatal("a ROUTE_UPDATE of a removed route succeeded")
	}
	h.sync(d)
	h.check(d, time.Now())
	if got := h.r.Applied().Routes["a"].ID; got != idA {
		t.Fatalf("route a re-added (%s -> %s) after a failure that did not concern it", idA, got)
	}
}

// TestIntegrationMaintenanceReleasedFromOldBackend: the proxy keeps
// maintenance per backend URL string for every session (§5). A route in
// maintenance that moves to a new backend must not leave the old string in
// maintenance, where any later route using it (a recycled address) would
// serve the maintenance page; nor may the temporary route that releases it
// stay behind.
func TestIntegrationMaintenanceReleasedFromOldBackend(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("api", "api.example.com", "/", "http://10.0.0.1:3000"))
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"api"}}
	d := desired(c)
	h.sync(d)
	h.check(d, time.Now())

	c.Routes[0].Backend = "http://10.0.0.2:3000"
	d = desired(c)
	h.sync(d)
	h.check(d, time.Now())
	if in := h.srv.InMaintenance(); slices.Contains(in, "http://10.0.0.1:3000") {
		t.Fatalf("the old backend is still in maintenance: %v", in)
	}
	for _, pr := range h.srv.ProxyRoutes() {
		if pr.Backend == "http://10.0.0.1:3000" {
			t.Fatalf("a route on the old backend is left in the proxy: %+v", pr)
		}
	}

	c.Maintenance = config.Maintenance{}
	d = desired(c)
	h.sync(d)
	h.check(d, time.Now())
	if in := h.srv.InMaintenance(); len(in) != 0 {
		t.Fatalf("maintenance is off, yet the proxy keeps %v in maintenance", in)
	}
	if p := Plan(d, h.r.Applied(), PlanOptions{Now: time.Now()}); !p.Empty() {
		t.Fatalf("not converged:\n%s", Diff(p))
	}
}

// TestIntegrationOrphansDoNotPileUp: every reconnect inside the grace leaves
// the old session's routes in the proxy as orphans (§7). Harmless ones are
// kept to spare the routes a purge gap, but at most one per domain and path:
// otherwise the proxy's list, whose apply cost grows with its size (§4),
// grows with every reconnect.
func TestIntegrationOrphansDoNotPileUp(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"))
	d := desired(c)
	h.sync(d)
	for range 5 {
		gen := h.cl.Generation()
		h.srv.DropConnections()
		h.waitGeneration(gen)
		h.sync(d)
		h.check(d, time.Now())
	}
	if n := len(h.srv.ProxyRoutes()); n > 2*len(c.Routes) {
		t.Fatalf("%d proxy entries for %d routes after 5 reconnects: orphans pile up", n, len(c.Routes))
	}
}
