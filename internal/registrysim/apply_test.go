package registrysim

import (
	"strings"
	"testing"
)

// TestShuffleApply: "Within one CONFIG_APPLY the staged routes are added in
// random order (Go map iteration): two staged routes with the same
// domain+path end in either order" (§9). Off, the staging order is kept.
func TestShuffleApply(t *testing.T) {
	exactWinner := func(opts Options) string {
		srv := newServer(t, opts)
		c := dial(t, srv)
		c.register("svc", "inst1")
		c.addApply("a.com|/x|http://first:1|0", "a.com|/x|http://second:1|0")
		return srv.Resolve("a.com", "/x").Backend
	}
	seen := map[string]bool{}
	for seed := int64(1); seed <= 16; seed++ {
		seen[exactWinner(Options{ShuffleApply: true, Seed: seed})] = true
		if got := exactWinner(Options{Seed: seed}); got != "http://second:1" {
			t.Fatalf("without ShuffleApply, seed %d: exact path to %s, want the later staged route", seed, got)
		}
	}
	if !seen["http://first:1"] || !seen["http://second:1"] {
		t.Fatalf("over 16 seeds the exact path went to %v, want both orders", seen)
	}
	// The same seed gives the same order.
	if a, b := exactWinner(Options{ShuffleApply: true, Seed: 7}), exactWinner(Options{ShuffleApply: true, Seed: 7}); a != b {
		t.Fatalf("seed 7 gave %s then %s", a, b)
	}
}

// TestPartialApply: "Routes applied before a failing one in the same apply
// are live and active (ROUTE_LIST shows them; a later CLIENT_SHUTDOWN
// removes them)" (§9, §3).
func TestPartialApply(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.send("ROUTE_ADD|{sid}|a.com|/1|http://b:1|0", "ROUTE_ADD|{sid}|a.com|/2|http://b:2:x|0", "ROUTE_ADD|{sid}|a.com|/3|http://b:3|0")
	for range 3 {
		c.read()
	}
	c.expect("CONFIG_APPLY|{sid}", `ERROR|failed to add route r2: invalid backend URL: parse "http://b:2:x": invalid port ":2:x" after host`)
	backend(t, srv, "a.com", "/1", "http://b:1") // live
	backend(t, srv, "a.com", "/3", "")
	c.expect("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":3,"removed":0}}`) // still staged
	got := c.do("ROUTE_LIST|{sid}")
	if !strings.Contains(got, `"path":"/1","priority":0,"route_id":"r1","status":"active"`) {
		t.Fatalf("ROUTE_LIST = %s, want r1 active", got)
	}
	c.expect("CLIENT_SHUTDOWN|{sid}", "SHUTDOWN_OK")
	c.expectEOF()
	backend(t, srv, "a.com", "/1", "")
}

// TestRemoveThenUpdateInOneApply: "ROUTE_REMOVE rX then ROUTE_UPDATE rX
// path|domains ... in one apply: the updated copy replaces the active route
// before the removal runs, so the old path stays routed and the new one is
// not" (§9).
func TestRemoveThenUpdateInOneApply(t *testing.T) {
	for _, tt := range []struct{ field, value, oldHost, oldPath, newHost, newPath string }{
		{"path", "/new", "a.com", "/old", "a.com", "/new"},
		{"domains", "b.com", "a.com", "/old", "b.com", "/old"},
	} {
		t.Run(tt.field, func(t *testing.T) {
			srv := newServer(t, Options{})
			c := dial(t, srv)
			c.register("svc", "inst1")
			c.addApply("a.com|/old|http://be:1|0")
			c.expect("ROUTE_REMOVE|{sid}|r1\nROUTE_UPDATE|{sid}|r1|"+tt.field+"|"+tt.value+"\nCONFIG_APPLY|{sid}", "ROUTE_OK", "ROUTE_OK", "OK")
			backend(t, srv, tt.oldHost, tt.oldPath, "http://be:1")
			backend(t, srv, tt.newHost, tt.newPath, "")
			c.expect("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]")
		})
	}
}
