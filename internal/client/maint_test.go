package client

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// gate is a registrysim checker whose URLs become reachable when opened.
type gate struct{ open atomic.Bool }

func (g *gate) Check(context.Context, string) error {
	if g.open.Load() {
		return nil
	}
	return errors.New("connection refused")
}

func TestMaintenanceConfirmed(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	id := liveRoute(t, c)
	if err := c.MaintenanceEnter(ctx, id, ""); err != nil {
		t.Fatalf("MaintenanceEnter: %v", err)
	}
	await(t, h.rec, func(e MaintRequested) bool { return e.Enter && e.Target == id })
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintProxy })
	if e.Target != id || e.Late {
		t.Fatalf("MaintResolved %+v", e)
	}
	if st := c.MaintenanceState(); len(st) != 1 || st[0].Mode != MaintProxy || !st[0].Entered {
		t.Fatalf("state %+v", st)
	}
	if got := sim.Resolve("a.com", "/"); got.Kind != registrysim.TargetMaintenance {
		t.Fatalf("Resolve = %+v, want maintenance", got)
	}
	if st, err := maintenanceStatus(ctx, c); err != nil || len(st) != 1 || st[0] != id {
		t.Fatalf("MaintenanceStatus = %q, %v", st, err)
	}
	if err := c.MaintenanceExit(ctx, id); err != nil {
		t.Fatalf("MaintenanceExit: %v", err)
	}
	await(t, h.rec, func(e MaintRequested) bool { return !e.Enter })
	await(t, h.rec, func(e MaintResolved) bool { return !e.Enter && e.Mode == MaintProxy && e.Target == id })
	if st := c.MaintenanceState(); st[0].Mode != MaintProxy || st[0].Entered {
		t.Fatalf("state %+v", st)
	}
}

func TestMaintenanceTimeoutToLocalThenLateConfirmation(t *testing.T) {
	g := &gate{}
	sim := startSim(t, registrysim.Options{Checker: g, MaintInterval: 2 * time.Millisecond, MaintTimeout: time.Minute})
	h := connected(t, sim.Addr(), func(c *Options) { c.MaintenanceTimeout = 20 * time.Millisecond })
	c, ctx := h.c, ctxT(t)
	if err := c.MaintenanceEnter(ctx, "ALL", "http://page.local/maint"); err != nil {
		t.Fatal(err)
	}
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	if e.Target != "ALL" || e.Reason != "no confirmation in time" {
		t.Fatalf("MaintResolved %+v", e)
	}
	if st := c.MaintenanceState(); st[0].Mode != MaintLocal {
		t.Fatalf("state %+v", st)
	}
	g.open.Store(true) // the page comes up: the server's check now succeeds
	e = await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintProxy })
	if !e.Late || e.Target != "ALL" {
		t.Fatalf("late MaintResolved %+v", e)
	}
	if st := c.MaintenanceState(); st[0].Mode != MaintProxy {
		t.Fatalf("state %+v", st)
	}
}

func TestMaintenanceServerTimeoutError(t *testing.T) {
	sim := startSim(t, registrysim.Options{Checker: &gate{}, MaintInterval: 2 * time.Millisecond, MaintTimeout: 30 * time.Millisecond})
	h := connected(t, sim.Addr(), nil) // client timeout 30s: the server gives up first
	c, ctx := h.c, ctxT(t)
	if err := c.MaintenanceEnter(ctx, "ALL", "http://page.local/"); err != nil {
		t.Fatal(err)
	}
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	var se *ServerError
	if e.Reason != "proxy check timed out" || !errors.As(e.Err, &se) || !strings.HasPrefix(se.Message, "timeout waiting for") {
		t.Fatalf("MaintResolved %+v", e)
	}
	// The next operation is not blocked by the failed one.
	if err := c.MaintenanceExit(ctx, "ALL"); err != nil {
		t.Fatal(err)
	}
	await(t, h.rec, func(e MaintRequested) bool { return !e.Enter })
	await(t, h.rec, func(e MaintResolved) bool { return !e.Enter && e.Mode == MaintProxy }) // no routes: no backend to check
}

// TestMaintenanceSerialized checks that a second operation waits for the
// first: sent at once, it would silently cancel the first one's check (§5)
// and its confirmation would never come.
func TestMaintenanceSerialized(t *testing.T) {
	g := &gate{}
	sim := startSim(t, registrysim.Options{Checker: g, MaintInterval: 2 * time.Millisecond, MaintTimeout: time.Minute})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	if err := c.MaintenanceEnter(ctx, "ALL", "http://page.local/"); err != nil {
		t.Fatal(err)
	}
	await(t, h.rec, func(e MaintRequested) bool { return e.Enter })
	exited := make(chan error, 1)
	// Another target: the same one would supersede the pending enter.
	go func() { exited <- c.MaintenanceExit(ctx, "r999") }()
	// While the enter is pending, the exit must not reach the server.
	for _, l := range sim.Commands() {
		if strings.HasPrefix(l, "MAINT_EXIT") {
			t.Fatalf("MAINT_EXIT sent while MAINT_ENTER pending: %q", sim.Commands())
		}
	}
	g.open.Store(true)
	await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintProxy })
	if err := <-exited; err != nil {
		t.Fatal(err)
	}
	await(t, h.rec, func(e MaintRequested) bool { return !e.Enter })
	await(t, h.rec, func(e MaintResolved) bool { return !e.Enter && e.Mode == MaintProxy })
	if n := count(h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal }) + count(h.rec, func(e MaintResolved) bool { return !e.Enter && e.Mode == MaintLocal }); n != 0 {
		t.Fatalf("%d local fallbacks, want 0", n)
	}
}

func TestMaintenanceNotConnectedIsLocal(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	// Handled locally, and the caller is told the proxy was not.
	if err := h.c.MaintenanceEnter(ctxT(t), "ALL", ""); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("MaintenanceEnter while not connected = %v, want ErrDisconnected", err)
	}
	st := h.c.MaintenanceState()
	if len(st) != 1 || st[0].Mode != MaintLocal || !st[0].Entered {
		t.Fatalf("state %+v", st)
	}
	if sim.CommandCount() != 0 {
		t.Fatalf("commands sent: %q", sim.Commands())
	}
	// Events are queued until Run delivers them.
	h.run(t)
	await(t, h.rec, func(e MaintRequested) bool { return e.Enter })
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	if e.Reason != "not connected" {
		t.Fatalf("MaintResolved %+v", e)
	}
}

// TestMaintenanceRefused: after another client registers the same
// service+instance, every command but PING on the old connection gets
// "ERROR|session not found" (§2).
func TestMaintenanceRefused(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	connected(t, sim.Addr(), nil) // the same service and instance: replaces h's session
	ctx := ctxT(t)
	err := h.c.MaintenanceEnter(ctx, "ALL", "")
	var se *ServerError
	if !errors.As(err, &se) || se.Message != "session not found" {
		t.Fatalf("MaintenanceEnter: %v, want session not found", err)
	}
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	if e.Reason != "refused by proxy" {
		t.Fatalf("MaintResolved %+v", e)
	}
	if err := ping(ctx, h.c); err != nil {
		t.Fatalf("Ping on replaced session: %v", err)
	}
}

func TestMaintenanceDisconnectFallsBackToLocal(t *testing.T) {
	sim := startSim(t, registrysim.Options{Checker: &gate{}, MaintInterval: 2 * time.Millisecond, MaintTimeout: time.Minute})
	h := connected(t, sim.Addr(), nil)
	if err := h.c.MaintenanceEnter(ctxT(t), "ALL", "http://page.local/"); err != nil {
		t.Fatal(err)
	}
	sim.DropConnections()
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	if e.Reason != "disconnected" {
		t.Fatalf("MaintResolved %+v", e)
	}
	await[Reconnected](t, h.rec, nil)
}

// A request for the target of the pending one does not wait for its check:
// the operator who enters maintenance with a page that never answers and
// changes their mind gets the exit at once, not after the timeout.
func TestMaintenanceSameTargetSupersedesPending(t *testing.T) {
	g := &gate{}
	sim := startSim(t, registrysim.Options{Checker: g, MaintInterval: 2 * time.Millisecond, MaintTimeout: time.Minute})
	h := connected(t, sim.Addr(), func(c *Options) { c.MaintenanceTimeout = time.Hour })
	c, ctx := h.c, ctxT(t)
	id := liveRoute(t, c)
	if err := c.MaintenanceEnter(ctx, id, "http://page.local/"); err != nil {
		t.Fatal(err)
	}
	if got := sim.Resolve("a.com", "/"); got.Kind != registrysim.TargetMaintenance {
		t.Fatalf("Resolve = %v, want maintenance while the page is checked", got.Kind)
	}
	// With an hour's confirmation timeout, waiting would outlast ctx.
	if err := c.MaintenanceExit(ctx, id); err != nil {
		t.Fatalf("MaintenanceExit: %v", err)
	}
	e := await(t, h.rec, func(e MaintResolved) bool { return e.Enter && e.Mode == MaintLocal })
	if e.Reason != "superseded" {
		t.Fatalf("MaintResolved %+v, want reason superseded", e)
	}
	g.open.Store(true) // the exit's own check (of the backend) may now pass
	await(t, h.rec, func(e MaintResolved) bool { return !e.Enter && e.Mode == MaintProxy && e.Target == id })
	if got := sim.Resolve("a.com", "/"); got.Kind != registrysim.TargetBackend {
		t.Fatalf("Resolve = %v after the exit, want the backend", got.Kind)
	}
	if st := c.MaintenanceState(); len(st) != 1 || st[0].Entered || st[0].Mode != MaintProxy {
		t.Fatalf("state %+v", st)
	}
}

// liveRoute adds and applies a route a.com/ -> http://x:1 and returns its id.
func liveRoute(t *testing.T, c *Client) string {
	t.Helper()
	ctx := ctxT(t)
	id, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestMaintenanceStatusLists: MAINT_STATUS lists what the session entered,
// an id whose route is gone included (§9); a reply that is not the
// documented JSON is a protocol error.
func TestMaintenanceStatusLists(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	if ids, err := c.MaintenanceStatus(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("MaintenanceStatus before any enter = %q, %v", ids, err)
	}
	id := liveRoute(t, c)
	if err := c.MaintenanceEnter(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if err := do1(ctx, c, func(b *Batch) int { return b.RouteRemove(id) }, "ROUTE_OK"); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	if ids, err := c.MaintenanceStatus(ctx); err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("MaintenanceStatus = %q, %v; want [%s]", ids, err, id)
	}

	addr := scriptedServer(t, func(_ int, line string) string {
		switch {
		case strings.HasPrefix(line, "REGISTER|"):
			return "ACK|s1"
		case strings.HasPrefix(line, "MAINT_STATUS|"):
			return `MAINT_STATUS_OK|{"in_maintenance":"r1"}`
		}
		return "ERROR|unknown command: " + line
	})
	h2 := newClient(t, addr, nil)
	h2.run(t)
	await[Connected](t, h2.rec, nil)
	if _, err := h2.c.MaintenanceStatus(ctx); !errors.Is(err, ErrProtocol) {
		t.Fatalf("MaintenanceStatus of a bad reply = %v, want ErrProtocol", err)
	}
}
