package registrysim

import (
	"testing"
)

// These cases are not spelled out in PROTOCOL.md; the expected behaviour is
// that of the real server's published source, whose error texts and quirks
// match the rest of PROTOCOL.md line for line.

// TestRemoveOfStagedRouteUnstagesIt: the real ROUTE_REMOVE deletes the
// id from the staged routes before recording the removal, and CONFIG_APPLY
// only removes ids found among the *active* routes. So add+remove of a route
// that was never applied is a no-op. The sim keeps the staged route, appends
// it at apply and then runs the §4 removal rule for it, which also deletes
// every other route (of any session) with that domain+path.
func TestRemoveOfStagedRouteUnstagesIt(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0") // r1, live

	c.expect("ROUTE_ADD|{sid}|a.com|/x|http://two:2|0", "ROUTE_OK|r2")
	c.expect("ROUTE_REMOVE|{sid}|r2", "ROUTE_OK")
	c.expect("ROUTE_LIST|{sid}",
		`ROUTE_LIST_OK|[{"backend":"http://one:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r1","status":"active"}]`)
	c.expect("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":0,"removed":1}}`)
	c.expect("CONFIG_APPLY|{sid}", "OK")
	backend(t, srv, "a.com", "/x", "http://one:1")
}

// TestRemoveOfStagedRouteSparesOtherSessions is the cross-session form
// of the case above: session B staging and unstaging a route must not take
// down session A's live route.
func TestRemoveOfStagedRouteSparesOtherSessions(t *testing.T) {
	srv := newServer(t, Options{})
	a := dial(t, srv)
	a.register("svc", "instA")
	a.addApply("a.com|/x|http://one:1|0")

	b := dial(t, srv)
	b.register("svc", "instB")
	b.expect("ROUTE_ADD|{sid}|a.com|/x|http://two:2|0", "ROUTE_OK|r2")
	b.expect("ROUTE_REMOVE|{sid}|r2", "ROUTE_OK")
	b.expect("CONFIG_APPLY|{sid}", "OK")
	backend(t, srv, "a.com", "/x", "http://one:1")
}

// TestDiffCountsOnlyStagedValues: HEADERS_REMOVE / OPTIONS_REMOVE
// delete the key from the staged map in the real server, so CONFIG_DIFF
// counts only values that will be set. The sim stores a nil tombstone and
// counts it.
func TestDiffCountsOnlyStagedValues(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.expect("HEADERS_REMOVE|{sid}|ALL|X-Other", "HEADERS_OK")
	c.expect("OPTIONS_SET|{sid}|ALL|timeout|30s", "OPTIONS_OK")
	c.expect("OPTIONS_REMOVE|{sid}|ALL|timeout", "OPTIONS_OK")
	c.expect("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":0,"removed":0}}`)
}
