package registrysim

import (
	"slices"
	"testing"
	"time"
)

func connected(srv *Server, sid string) (found, conn bool) {
	for _, s := range srv.Sessions() {
		if s.ID == sid {
			return true, s.Connected
		}
	}
	return false, false
}

func TestRegisterReplacesLiveSession(t *testing.T) {
	srv := newServer(t, Options{})
	old, other := dial(t, srv), dial(t, srv)
	oldSID := old.register("svc", "inst1")
	other.register("svc", "inst2") // another instance coexists
	old.addApply("a.com|/x|http://one:1|0")
	other.addApply("b.com|/y|http://two:1|0")

	c := dial(t, srv)
	c.register("svc", "inst1")
	backend(t, srv, "a.com", "/x", "") // §2: removed at once
	backend(t, srv, "b.com", "/y", "http://two:1")
	old.expect("PING|"+oldSID, "PONG")
	old.expect("RECONNECT|"+oldSID, "REREGISTER") // §9
	for _, cmd := range []string{"ROUTE_LIST", "SESSION_INFO", "CONFIG_APPLY", "MAINT_STATUS"} {
		old.expect(cmd+"|"+oldSID, "ERROR|session not found")
	}
	c.expect("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]")
	if found, _ := connected(srv, oldSID); found {
		t.Fatal("replaced session still listed")
	}
	// The old connection dropping afterwards changes nothing.
	old.nc.Close()
	c.addApply("a.com|/x|http://new:1|0")
	backend(t, srv, "a.com", "/x", "http://new:1")
}

func TestDisconnectDisablesRoutesKeepsServing(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	sid := c.register("svc", "inst1")
	c.send("HEADERS_SET|{sid}|ALL|X-Env|prod")
	c.read()
	c.addApply("a.com|/x|http://one:1|0")
	if got := srv.Resolve("a.com", "/x"); got.Headers["X-Env"] != "prod" {
		t.Fatalf("headers = %v before the drop", got.Headers)
	}
	c.nc.Close() // EOF, no CLIENT_SHUTDOWN
	eventually(t, "session disconnected", func() bool { _, conn := connected(srv, sid); return !conn })
	got := srv.Resolve("a.com", "/x")
	if got.Kind != TargetBackend || got.Backend != "http://one:1" || got.Headers != nil {
		t.Fatalf("after drop: %+v, want served without headers", got)
	}
	if !srv.ProxyRoutes()[0].Disabled {
		t.Fatal("route not marked disabled")
	}
}

func TestGraceExpiryRemovesRoutes(t *testing.T) {
	srv := newServer(t, Options{Grace: 20 * time.Millisecond})
	c := dial(t, srv)
	sid := c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")
	srv.DropConnections()
	eventually(t, "grace expiry", func() bool { found, _ := connected(srv, sid); return !found })
	backend(t, srv, "a.com", "/x", "")
}

func TestReregisterWithinGraceLeavesOrphans(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c := dial(t, srv)
	oldSID := c.register("svc", "inst1")
	c.addApply("a.com|/x|http://old:1|0")
	srv.DropConnections()
	c.expectEOF()

	n := dial(t, srv)
	n.expect("RECONNECT|"+oldSID, "ERROR|no session") // §2: cannot restore
	n.register("svc", "inst1")
	n.expect("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]")
	backend(t, srv, "a.com", "/x", "http://old:1") // orphan, served
	if ss := srv.Sessions(); len(ss) != 1 || ss[0].ID != n.sid {
		t.Fatalf("sessions = %+v, want only the new one", ss)
	}

	// Replaying with a different backend leaves sub-paths on the orphan.
	n.addApply("a.com|/x|http://new:1|0")
	backend(t, srv, "a.com", "/x", "http://new:1")
	backend(t, srv, "a.com", "/x/y", "http://old:1")

	// §7 purge: (added,) applied, removed, applied, added, applied.
	n.expect("ROUTE_REMOVE|{sid}|r2\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "a.com", "/x/y", "")
	n.addApply("a.com|/x|http://new:1|0")
	backend(t, srv, "a.com", "/x/y", "http://new:1")
}

// TestSecondRegisterOnSameConnection: "A second REGISTER on the same
// connection only repoints the connection: the first session's routes stay
// enabled and never expire, until a later REGISTER of that service+instance
// removes them" (§9).
func TestSecondRegisterOnSameConnection(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Millisecond})
	c := dial(t, srv)
	first := c.register("svc", "inst1")
	c.send("HEADERS_SET|{sid}|ALL|X-Env|prod")
	c.read()
	c.addApply("a.com|/x|http://one:1|0")
	second := c.register("svc", "inst2")
	c.expect("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]")
	if found, conn := connected(srv, first); !found || !conn {
		t.Fatalf("first session found=%v connected=%v, want kept as connected", found, conn)
	}
	// Dropping the connection detaches the second session only; with a 1 ms
	// grace it expires, the first never does.
	c.nc.Close()
	eventually(t, "second session expired", func() bool { found, _ := connected(srv, second); return !found })
	if found, _ := connected(srv, first); !found {
		t.Fatal("first session expired")
	}
	got := srv.Resolve("a.com", "/x")
	if got.Kind != TargetBackend || got.Backend != "http://one:1" || got.Headers["X-Env"] != "prod" {
		t.Fatalf("Resolve = %+v, want served by one:1, enabled (headers added)", got)
	}
	// A later REGISTER of svc/inst1 removes the routes: it was never seen to drop.
	n := dial(t, srv)
	n.register("svc", "inst1")
	backend(t, srv, "a.com", "/x", "")
}

// TestDeadSessionRoutesOutliveReregister is §7 across processes: "The
// re-REGISTER "cleans up" the old session but skips removing its routes
// because they are already disabled; they are then never removed ...
// Maintenance entered by the dead session stays on its backend strings."
// A killed agent's routes stay in the list, disabled and served, in the
// order the sort keeps them, through any number of restarts.
func TestDeadSessionRoutesOutliveReregister(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("shop.test,www.shop.test|/|http://a:1|0", "shop.test|/admin|http://admin:1|0") // r1, r2
	c.expect("MAINT_ENTER|{sid}|r2|", "ACK", "MAINT_OK|r2")
	srv.DropConnections() // SIGKILL

	n := dial(t, srv)
	n.register("svc", "inst1")
	n.expect("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]") // nothing tells the new process
	n.expect("HEADERS_SET|{sid}|ALL|X-By|new", "HEADERS_OK")
	n.addApply("shop.test|/admin|http://admin:1|0", "shop.test,www.shop.test|/|http://b:1|0") // r3, r4
	if ss := srv.Sessions(); len(ss) != 1 || ss[0].ID != n.sid {
		t.Fatalf("sessions = %+v, want only the new one (no grace timer left)", ss)
	}
	check := func(wantOrder []string, disabled map[string]bool) {
		t.Helper()
		rs := srv.ProxyRoutes()
		if got := routeIDs(rs); !slices.Equal(got, wantOrder) {
			t.Fatalf("list order = %v, want %v", got, wantOrder)
		}
		for _, r := range rs {
			if r.Disabled != disabled[r.ID] {
				t.Fatalf("%s disabled=%v, want %v", r.ID, r.Disabled, disabled[r.ID])
			}
		}
	}
	check([]string{"r2", "r3", "r1", "r4"}, map[string]bool{"r1": true, "r2": true})
	backend(t, srv, "shop.test", "/", "http://b:1")          // exact map: the newest
	backend(t, srv, "shop.test", "/x", "http://a:1")         // the dead session's route comes first
	backend(t, srv, "www.shop.test", "/admin", "http://a:1") // no /admin for www: the "/" routes
	got := srv.Resolve("shop.test", "/deep")
	if got.HeaderRouteID != "r4" || got.Headers["X-By"] != "new" {
		t.Fatalf("Resolve(shop.test, /deep) = %+v, want the headers of the first enabled route r4", got)
	}
	// The dead session's maintenance stays on its backend object, which the
	// re-added route shares.
	maintenance(t, srv, "shop.test", "/admin", "")
	maintenance(t, srv, "shop.test", "/admin/x", "")
	n.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":[]}`)

	// A second and a third crash change nothing but disable the newer routes.
	for range 2 {
		srv.DropConnections()
		n = dial(t, srv)
		n.register("svc", "inst1")
	}
	check([]string{"r2", "r3", "r1", "r4"}, map[string]bool{"r1": true, "r2": true, "r3": true, "r4": true})
	backend(t, srv, "shop.test", "/x", "http://a:1")
}
