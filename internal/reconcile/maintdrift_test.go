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
	"regagent/internal/registrysim"
)

// adminKind is where a request to admin of shopConfig lands.
func (h *harness) adminKind() registrysim.TargetKind {
	return h.srv.Resolve("shop.test", "/admin/x").Kind
}

// writesSince returns the commands the server received after mark that are
// not the drift check's own reads.
func (h *harness) writesSince(mark int) []string {
	var out []string
	for _, l := range h.srv.Commands()[mark:] {
		if !strings.HasPrefix(l, "ROUTE_LIST|") && !strings.HasPrefix(l, "MAINT_STATUS|") && !strings.HasPrefix(l, "PING") {
			out = append(out, l)
		}
	}
	return out
}

// Maintenance left behind the agent's back, on its own session, is entered
// again by the next drift pass, and counted as drift.
func TestMaintenanceDriftRestored(t *testing.T) {
	for name, targets := range map[string][]string{"a target": {"admin"}, "the whole service": nil} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.drift = time.Nanosecond // every pass compares
			c := shopConfig("http://a:3000")
			c.Maintenance = config.Maintenance{Enabled: true, Targets: targets}
			d := desired(c)
			h.sync(d)
			if h.adminKind() != registrysim.TargetMaintenance {
				t.Fatal("admin not in maintenance")
			}
			id := h.r.Applied().Routes["admin"].ID
			if err := h.cl.MaintenanceExit(h.ctx, id); err != nil {
				t.Fatal(err)
			}
			if h.adminKind() == registrysim.TargetMaintenance {
				t.Fatal("MAINT_EXIT behind the agent's back left admin in maintenance")
			}
			h.sync(d)
			h.check(d, time.Now())
			if h.adminKind() != registrysim.TargetMaintenance {
				t.Fatal("the drift pass did not restore admin's maintenance")
			}
			if ids, err := maintenanceStatus(h.ctx, h.cl); err != nil || !slices.Contains(ids, id) {
				t.Fatalf("MAINT_STATUS = %q, %v; want %s listed", ids, err, id)
			}
			if s := h.r.Status(); s.Drifts != 1 {
				t.Fatalf("drifts = %d, want 1", s.Drifts)
			}
			if got := h.logged("WARN drift: "); len(got) != 1 || got[0] != "WARN drift: 1 routes out of maintenance, 0 in maintenance unexpectedly" {
				t.Fatalf("drift log lines %q", got)
			}
			// Repaired: the next drift pass finds nothing and sends nothing.
			mark := h.srv.CommandCount()
			h.sync(d)
			if s := h.r.Status(); s.Drifts != 1 {
				t.Fatalf("drifts = %d after the repair, want 1", s.Drifts)
			}
			if got := h.writesSince(mark); len(got) != 0 {
				t.Fatalf("a pass after the repair sent %q", got)
			}
		})
	}
}

// Maintenance entered behind the agent's back on a route it does not want
// in maintenance is left by the next drift pass.
func TestMaintenanceDriftUnexpectedLeft(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Nanosecond
	d := desired(shopConfig("http://a:3000"))
	h.sync(d)
	id := h.r.Applied().Routes["admin"].ID
	if err := h.cl.MaintenanceEnter(h.ctx, id, "http://elsewhere/"); err != nil {
		t.Fatal(err)
	}
	if h.adminKind() != registrysim.TargetMaintenance {
		t.Fatal("MAINT_ENTER behind the agent's back did nothing")
	}
	h.sync(d)
	h.check(d, time.Now())
	if ids, err := maintenanceStatus(h.ctx, h.cl); err != nil || len(ids) != 0 {
		t.Fatalf("MAINT_STATUS = %q, %v; want nothing", ids, err)
	}
	if got := h.logged("WARN drift: "); len(got) != 1 || got[0] != "WARN drift: 0 routes out of maintenance, 1 in maintenance unexpectedly" {
		t.Fatalf("drift log lines %q", got)
	}
}

// A re-add of a route in maintenance leaves its old id listed by
// MAINT_STATUS (§9): that is no drift, and the drift pass sends nothing.
func TestMaintenanceDriftIgnoresStaleIDs(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Nanosecond
	c := shopConfig("http://a:3000")
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"admin"}}
	h.sync(desired(c))
	old := h.r.Applied().Routes["admin"].ID
	c.Headers = map[string]string{"X-Edit": "1"} // every route re-added
	d := desired(c)
	h.sync(d)
	ids, err := maintenanceStatus(h.ctx, h.cl)
	if err != nil || !slices.Contains(ids, old) || !slices.Contains(ids, h.r.Applied().Routes["admin"].ID) {
		t.Fatalf("MAINT_STATUS = %q, %v; want the old id %s and the new one", ids, err, old)
	}
	mark := h.srv.CommandCount()
	h.sync(d)
	h.check(d, time.Now())
	if s := h.r.Status(); s.Drifts != 0 {
		t.Fatalf("drifts = %d, want 0", s.Drifts)
	}
	if got := h.writesSince(mark); len(got) != 0 {
		t.Fatalf("the drift pass sent %q", got)
	}
}

// lostEnterConn loses the reply to the first MAINT_ENTER: the server acts
// on it, the reconciler sees an error.
type lostEnterConn struct {
	*client.Client
	lost bool
}

func (c *lostEnterConn) MaintenanceEnter(ctx context.Context, target, page string) error {
	err := c.Client.MaintenanceEnter(ctx, target, page)
	if err == nil && !c.lost {
		c.lost = true
		return client.ErrDisconnected
	}
	return err
}

// A MAINT_ENTER whose reply was lost, then a file without maintenance: the
// agent never learnt that it entered, and only MAINT_STATUS can tell; the
// drift pass leaves maintenance.
func TestMaintenanceDriftAfterLostReply(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Hour // not due while the failure is handled
	c := shopConfig("http://a:3000")
	h.sync(desired(c))
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"admin"}}
	h.r.pass.conn = &lostEnterConn{Client: h.cl}
	if err := h.try(desired(c)); !errors.Is(err, client.ErrDisconnected) {
		t.Fatalf("pass with a lost reply = %v", err)
	}
	h.r.pass.conn = h.cl
	d := desired(shopConfig("http://a:3000"))
	h.sync(d)
	if h.adminKind() != registrysim.TargetMaintenance {
		t.Fatal("the lost enter did not reach the proxy")
	}
	h.drift = time.Nanosecond
	h.sync(d)
	h.check(d, time.Now())
	if h.adminKind() == registrysim.TargetMaintenance {
		t.Fatal("admin still in maintenance after the drift pass")
	}
	if s := h.r.Status(); s.Drifts != 1 {
		t.Fatalf("drifts = %d, want 1", s.Drifts)
	}
}

func TestObserveMaintenance(t *testing.T) {
	c := shopConfig("http://a:3000", rt("api", "api.shop.test", "/", "http://a:3000")) // api shares web's backend
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"web", "admin"}}
	a := applied(t, c)
	web, api, admin := a.Routes["web"].ID, a.Routes["api"].ID, a.Routes["admin"].ID
	if !a.Routes["web"].Maintenance || a.Routes["api"].Maintenance || !a.Routes["admin"].Maintenance {
		t.Fatalf("entered flags: %+v", a.Routes)
	}
	// As entered, with a stale id of a removed route: nothing differs.
	n, lost, gained := a.ObserveMaintenance([]string{admin, "r1", web})
	if lost+gained != 0 || !mapsEq(n.Maintenance.Backends, a.Maintenance.Backends) {
		t.Fatalf("no drift: lost %d gained %d backends %v", lost, gained, n.Maintenance.Backends)
	}
	// admin left, api entered: admin's backend is to be entered again,
	// web's (api's) one has a page nobody knows.
	n, lost, gained = a.ObserveMaintenance([]string{web, api})
	if lost != 1 || gained != 1 {
		t.Fatalf("lost %d gained %d, want 1 1", lost, gained)
	}
	if _, ok := n.Maintenance.Backends["http://admin:3000"]; ok {
		t.Fatalf("admin's backend still counted in maintenance: %v", n.Maintenance.Backends)
	}
	if got := n.Maintenance.Backends["http://a:3000"]; got != pageUnknown {
		t.Fatalf("web's backend page %q, want %q", got, pageUnknown)
	}
	if a.Routes["admin"].Maintenance != true {
		t.Fatal("ObserveMaintenance changed its receiver")
	}
	// The plan repairs both.
	got := plan(desired(c), n)
	eqSteps(t, got, "MAINT_ENTER admin,web ")
}
