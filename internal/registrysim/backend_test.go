package registrysim

import (
	"slices"
	"testing"
)

// TestMaintenanceLivesOnBackendObject: "route in maintenance → ROUTE_REMOVE +
// apply → ROUTE_ADD same backend + apply → the route is served by the
// backend, no maintenance, while MAINT_STATUS still lists the old id" (§9).
func TestMaintenanceLivesOnBackendObject(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/admin|http://app:1|0") // r1
	c.expect("MAINT_ENTER|{sid}|r1|", "ACK", "MAINT_OK|r1")
	maintenance(t, srv, "a.com", "/admin", "")

	c.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}\nROUTE_ADD|{sid}|a.com|/admin|http://app:1|0\nCONFIG_APPLY|{sid}",
		"ROUTE_OK", "OK", "ROUTE_OK|r2", "OK")
	backend(t, srv, "a.com", "/admin", "http://app:1")
	backend(t, srv, "a.com", "/admin/x", "http://app:1")
	c.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["r1"]}`)
	if got := srv.InMaintenance(); len(got) != 0 {
		t.Fatalf("InMaintenance = %v, want none (the object went with its last route)", got)
	}
}

// TestBackendObjectSharedWhileARouteHoldsIt: "ROUTE_ADD reuses the object of
// an existing route with the same URL string" (§9): while another route keeps
// the object alive, a re-add is in maintenance at once, on any session.
func TestBackendObjectSharedWhileARouteHoldsIt(t *testing.T) {
	srv := newServer(t, Options{})
	c, o := dial(t, srv), dial(t, srv)
	c.register("svc", "inst1")
	o.register("other", "inst1")
	c.addApply("a.com|/admin|http://app:1|0") // r1
	o.addApply("b.com|/keep|http://app:1|0")  // r2, holds the object
	c.expect("MAINT_ENTER|{sid}|r1|http://page/", "ACK", "MAINT_OK|r1")
	maintenance(t, srv, "b.com", "/keep", "http://page/") // per object: every route using it

	c.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}\nROUTE_ADD|{sid}|a.com|/admin|http://app:1|0\nCONFIG_APPLY|{sid}",
		"ROUTE_OK", "OK", "ROUTE_OK|r3", "OK")
	maintenance(t, srv, "a.com", "/admin", "http://page/")
	if got := srv.InMaintenance(); !slices.Equal(got, []string{"http://app:1"}) {
		t.Fatalf("InMaintenance = %v", got)
	}
	for _, r := range srv.ProxyRoutes() {
		if !r.InMaintenance || r.MaintenancePage != "http://page/" {
			t.Fatalf("ProxyRoutes: %s maintenance=%v page=%q, want in maintenance", r.ID, r.InMaintenance, r.MaintenancePage)
		}
	}

	// Once the last route using the URL is gone, the next add is fresh.
	o.expect("ROUTE_REMOVE|{sid}|r2\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	c.expect("ROUTE_REMOVE|{sid}|r3\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	o.addApply("b.com|/keep|http://app:1|0")
	backend(t, srv, "b.com", "/keep", "http://app:1")
}

// TestMaintSpreadsOverKeyAndBackends: "MAINT_ENTER/MAINT_EXIT of a route id
// act on every route with the same path and an overlapping domain, and on
// those routes' backends (so it spreads to other paths sharing such a
// backend); the page URL is overwritten on all of them. Targets are trimmed"
// (§9).
func TestMaintSpreadsOverKeyAndBackends(t *testing.T) {
	srv := newServer(t, Options{})
	c, o := dial(t, srv), dial(t, srv)
	c.register("svc", "inst1")
	o.register("other", "inst1")
	c.addApply("a.com|/admin|http://one:1|0")                                  // r1
	o.addApply("a.com,c.com|/admin|http://two:1|0", "c.com|/z|http://two:1|0") // r2, r3: same key, other backend
	o.addApply("d.com|/admin|http://three:1|0")                                // r4: same path, no common domain

	o.expect("MAINT_ENTER|{sid}|r3|http://page/old", "ACK", "MAINT_OK|r3")
	maintenance(t, srv, "c.com", "/z", "http://page/old")

	c.expect("MAINT_ENTER|{sid}| r1|http://page/new", "ACK", "MAINT_OK| r1")
	c.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["r1"]}`)
	maintenance(t, srv, "a.com", "/admin/x", "http://page/new") // r1 is first in the list for sub-paths
	maintenance(t, srv, "a.com", "/admin", "http://page/new")   // exact key: r2, backend two
	maintenance(t, srv, "c.com", "/z", "http://page/new")       // spread over backend two, page overwritten
	backend(t, srv, "d.com", "/admin", "http://three:1")
	o.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["r3"]}`) // the other session's list is its own

	c.expect("MAINT_EXIT|{sid}|r1 ", "ACK", "MAINT_OK|r1 ")
	backend(t, srv, "a.com", "/admin", "http://two:1")
	backend(t, srv, "c.com", "/z", "http://two:1")
	c.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":[]}`)
}
