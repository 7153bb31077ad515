package registrysim

import (
	"maps"
	"testing"
)

// backend asserts where a request for host+path goes ("" = nowhere, 503).
func backend(tb testing.TB, srv *Server, host, path, want string) {
	tb.Helper()
	got := srv.Resolve(host, path)
	if want == "" {
		if got.Kind != TargetNone {
			tb.Fatalf("Resolve(%s, %s) = %v %s, want none", host, path, got.Kind, got.Backend)
		}
		return
	}
	if got.Kind != TargetBackend || got.Backend != want {
		tb.Fatalf("Resolve(%s, %s) = %v %q, want backend %q", host, path, got.Kind, got.Backend, want)
	}
}

func TestResolveMatching(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply(
		"a.com|/api|http://api:1|1",
		"a.com|/api/v2|http://v2:1|0", // longer prefix wins though priority is lower
		"*.b.com|/|http://wild:1|0",
		"a.com|noslash|http://noslash:1|0",
	)
	tests := []struct{ host, path, want string }{
		{"a.com", "/api", "http://api:1"},
		{"a.com", "/apix", "http://api:1"}, // plain string prefix
		{"a.com", "/api/v2/users", "http://v2:1"},
		{"a.com", "/", ""},
		{"A.com", "/api", ""},     // exact host
		{"a.com:443", "/api", ""}, // no port stripping
		{"x.b.com", "/", ""},      // no wildcards
		{"*.b.com", "/", "http://wild:1"},
		{"a.com", "noslash", "http://noslash:1"}, // exact key only; never a real request path
		{"a.com", "/noslash", ""},
	}
	for _, tt := range tests {
		backend(t, srv, tt.host, tt.path, tt.want)
	}
}

func TestRemoveAndAddSameApplyRoutesNothing(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://old:1|0")
	c.expect("ROUTE_REMOVE|{sid}|r1\nROUTE_ADD|{sid}|a.com|/x|http://new:1|0\nCONFIG_APPLY|{sid}", "ROUTE_OK", "ROUTE_OK|r2", "OK")
	c.expect("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://new:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r2","status":"active"}]`)
	backend(t, srv, "a.com", "/x", "") // §4: 503 for good
	backend(t, srv, "a.com", "/x/y", "")
}

func TestAddThenRemoveInTwoAppliesRoutesNothing(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://old:1|0")
	c.addApply("a.com|/x|http://new:1|0")
	backend(t, srv, "a.com", "/x", "http://new:1")
	c.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "a.com", "/x", "")
}

func TestBreakBeforeMakeChangesBackend(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://old:1|0")
	c.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}\nROUTE_ADD|{sid}|a.com|/x|http://new:1|0\nCONFIG_APPLY|{sid}",
		"ROUTE_OK", "OK", "ROUTE_OK|r2", "OK")
	backend(t, srv, "a.com", "/x", "http://new:1")
	backend(t, srv, "a.com", "/x/y", "http://new:1")
	if n := len(srv.ProxyRoutes()); n != 1 {
		t.Fatalf("proxy has %d routes, want 1", n)
	}
}

func TestUpdateBackendLeavesSubPathsOnOld(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/api|http://old:1|0")
	c.expect("ROUTE_UPDATE|{sid}|r1|backend_url|http://new:1\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "a.com", "/api", "http://new:1")
	backend(t, srv, "a.com", "/api/users", "http://old:1")
	c.expect("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://new:1","domains":["a.com"],"path":"/api","priority":0,"route_id":"r1","status":"active"}]`)
	if n := len(srv.ProxyRoutes()); n != 2 {
		t.Fatalf("proxy has %d routes, want 2 (old entry stays)", n)
	}
}

func TestUpdateDomainsLeavesOldDomainRouted(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com,b.com|/x|http://be:1|0")
	c.expect("ROUTE_UPDATE|{sid}|r1|domains|a.com,c.com\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "b.com", "/x", "http://be:1")
	backend(t, srv, "c.com", "/x", "http://be:1")
}

func TestUpdatePathLeavesOldPathAfterShutdown(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/old|http://be:1|0")
	c.expect("ROUTE_UPDATE|{sid}|r1|path|/new\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "a.com", "/old", "http://be:1")
	backend(t, srv, "a.com", "/new", "http://be:1")
	c.expect("CLIENT_SHUTDOWN|{sid}", "SHUTDOWN_OK")
	c.expectEOF()
	backend(t, srv, "a.com", "/new", "")
	backend(t, srv, "a.com", "/old", "http://be:1")
}

func TestTwoSessionsSameDomainPath(t *testing.T) {
	srv := newServer(t, Options{})
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.register("svc", "inst1")
	c2.register("svc", "inst2")
	c1.addApply("a.com|/x|http://one:1|0")
	c2.addApply("a.com|/x|http://two:1|0")
	backend(t, srv, "a.com", "/x", "http://two:1")   // the newer wins the exact path
	backend(t, srv, "a.com", "/x/y", "http://one:1") // the older keeps sub-paths
	// A removal by either removes both.
	c1.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	backend(t, srv, "a.com", "/x", "")
	backend(t, srv, "a.com", "/x/y", "")
	c2.expect("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://two:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r2","status":"active"}]`)
}

func TestShutdownOfOneSessionRemovesOthersSameRoute(t *testing.T) {
	srv := newServer(t, Options{})
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.register("svc", "inst1")
	c2.register("svc", "inst2")
	c1.addApply("a.com|/x|http://one:1|0", "a.com|/only1|http://one:1|0")
	c2.addApply("a.com,b.com|/x|http://two:1|0")
	c1.expect("CLIENT_SHUTDOWN|{sid}", "SHUTDOWN_OK")
	c1.expectEOF()
	backend(t, srv, "a.com", "/only1", "")
	backend(t, srv, "a.com", "/x/y", "")
	// b.com's exact key still points at the removed entry: the removal only
	// deletes the exact keys of its own domains (§4 map + list).
	backend(t, srv, "b.com", "/x", "http://two:1")
	backend(t, srv, "b.com", "/x/y", "")
}

func TestRouteIDsAreGlobal(t *testing.T) {
	srv := newServer(t, Options{})
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.register("svc", "inst1")
	c2.register("other", "inst1")
	c1.expect("ROUTE_ADD|{sid}|a.com|/1|http://b:1|0", "ROUTE_OK|r1")
	c2.expect("ROUTE_ADD|{sid}|a.com|/2|http://b:1|0", "ROUTE_OK|r2")
	c1.expect("ROUTE_ADD|{sid}|a.com|/3|http://b:1|0", "ROUTE_OK|r3")
	c2.expect("ROUTE_REMOVE|{sid}|r1", "ERROR|route not found") // ids are global, routes are not
}

func TestHeadersAndOptionsOnlyFromSameApply(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.send("HEADERS_SET|{sid}|ALL|X-Env|prod",
		"HEADERS_SET|{sid}|ALL|X-Pipe|a|b", // §1: "a|b" arrives as "a"
		"HEADERS_SET|{sid}|ALL|X-Gone|1",
		"HEADERS_REMOVE|{sid}|ALL|X-Gone",
		"OPTIONS_SET|{sid}|ALL|timeout|1m",
		"OPTIONS_SET|{sid}|ALL|websocket|yes",
		"OPTIONS_SET|{sid}|ALL|http2|true",
		"OPTIONS_SET|{sid}|ALL|health_check_interval|soon",
		"OPTIONS_SET|{sid}|ALL|lb|round_robin")
	for range 9 {
		c.read()
	}
	c.addApply("a.com|/one|http://b:1|0")
	c.addApply("a.com|/two|http://b:1|0")
	c.expect("HEADERS_SET|{sid}|ALL|X-Env|staging\nCONFIG_APPLY|{sid}", "HEADERS_OK", "OK")

	one := srv.Resolve("a.com", "/one")
	wantH := map[string]string{"X-Env": "prod", "X-Pipe": "a"}
	if !maps.Equal(one.Headers, wantH) {
		t.Fatalf("headers of r1 = %v, want %v", one.Headers, wantH)
	}
	wantO := map[string]string{"timeout": "1m0s", "websocket": "false", "http2": "true", "health_check_interval": "0s", "lb": "round_robin"}
	if !maps.Equal(one.Options, wantO) {
		t.Fatalf("options of r1 = %v, want %v", one.Options, wantO)
	}
	two := srv.Resolve("a.com", "/two")
	if len(two.Headers) != 0 || len(two.Options) != 0 {
		t.Fatalf("r2 got headers %v options %v from an earlier apply", two.Headers, two.Options)
	}
}

func TestHealthURLJoin(t *testing.T) {
	tests := []struct{ backend, path, want string }{
		{"http://h:3000", "/health", "http://h:3000health"}, // §4 bug
		{"http://h:3000", "health", "http://h:3000/health"},
		{"http://h:3000/", "/health", "http://h:3000/health"},
	}
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	for _, tt := range tests {
		id := c.do("ROUTE_ADD|{sid}|a.com|/" + tt.path + "|" + tt.backend + "|0")[len("ROUTE_OK|"):]
		c.expect("HEALTH_SET|{sid}|"+id+"|"+tt.path+"|10s|2s\nCONFIG_APPLY|{sid}", "HEALTH_OK", "OK")
		got := srv.ProxyRoutes()
		if h := got[len(got)-1].HealthURL; h != tt.want {
			t.Errorf("health URL of %s + %s = %q, want %q", tt.backend, tt.path, h, tt.want)
		}
	}
	// A check set for an already applied route registers nothing.
	c.expect("HEALTH_SET|{sid}|r1|/ready|10s|2s\nCONFIG_APPLY|{sid}", "HEALTH_OK", "OK")
	if h := srv.ProxyRoutes()[0].HealthURL; h != "http://h:3000health" {
		t.Fatalf("r1 health URL changed to %q", h)
	}
}

func TestValidationErrorAppliesNothing(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.send("ROUTE_ADD|{sid}|a.com|/1|http://b:1|0", "ROUTE_ADD|{sid}|a.com|/2|http://b:1|0", "ROUTE_UPDATE|{sid}|r2|path|")
	for range 3 {
		c.read()
	}
	c.expect("CONFIG_APPLY|{sid}", "ERROR|route r2: path cannot be empty")
	if n := len(srv.ProxyRoutes()); n != 0 {
		t.Fatalf("proxy has %d routes after a failed validation", n)
	}
}
