package registrysim

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func routeIDs(rs []ProxyRoute) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// TestSortByPathLengthIsTheExchangeSort: "After every add the list is
// re-sorted by path length, longest first, with an unstable exchange sort"
// (§4). The cases pin the exchange sort's own tie order, which a stable sort
// would not give.
func TestSortByPathLengthIsTheExchangeSort(t *testing.T) {
	tests := []struct {
		name  string
		paths []string // ids are the indexes
		want  []int
	}{
		{"longest first", []string{"/", "/xx", "/y"}, []int{1, 2, 0}},
		{"a tie swapped behind a longer path", []string{"/", "/", "/xx"}, []int{2, 1, 0}}, // stable: 2, 0, 1
		{"ties kept when nothing longer passes", []string{"/aa", "/", "/bb", "/"}, []int{0, 2, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := make([]*ProxyRoute, len(tt.paths))
			for i, p := range tt.paths {
				list[i] = &ProxyRoute{ID: string(rune('0' + i)), Path: p}
			}
			sortByPathLength(list)
			var got []int
			for _, r := range list {
				got = append(got, int(r.ID[0]-'0'))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEqualLengthTieFollowsTheSort: "on equal length the route first in the
// list wins ... among routes of equal path length the older one usually — not
// always — comes first" (§4). Two sessions each add "/" and "/admin"; which
// "/" serves sub-paths depends on the order of the second session's adds.
func TestEqualLengthTieFollowsTheSort(t *testing.T) {
	tests := []struct {
		name    string
		second  []string
		wantIDs []string
		wantSub string
	}{
		// [r2 /admin, r1 /] + r3 "/" stays behind r1; + r4 "/admin" swaps
		// with r1, which lands behind r3.
		{"root first: the newer wins sub-paths", []string{"a.com|/|http://new:1|0", "a.com|/admin|http://new:2|0"},
			[]string{"r2", "r4", "r3", "r1"}, "http://new:1"},
		// + r3 "/admin" swaps with r1; + r4 "/" is appended behind r1.
		{"admin first: the older wins sub-paths", []string{"a.com|/admin|http://new:2|0", "a.com|/|http://new:1|0"},
			[]string{"r2", "r3", "r1", "r4"}, "http://old:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, Options{})
			c1, c2 := dial(t, srv), dial(t, srv)
			c1.register("svc", "inst1")
			c2.register("svc", "inst2")
			c1.addApply("a.com|/|http://old:1|0", "a.com|/admin|http://old:2|0")
			c2.addApply(tt.second...)
			if got := routeIDs(srv.ProxyRoutes()); !slices.Equal(got, tt.wantIDs) {
				t.Fatalf("list order = %v, want %v", got, tt.wantIDs)
			}
			backend(t, srv, "a.com", "/", "http://new:1") // exact map: the newest for the key
			backend(t, srv, "a.com", "/x", tt.wantSub)
			backend(t, srv, "a.com", "/admin", "http://new:2")
			backend(t, srv, "a.com", "/admin/x", "http://old:2") // r2 stays first among "/admin"
		})
	}
}

// TestHeadersFromFirstEnabledLongestPrefix: "The proxy's added response
// headers come from the first enabled longest-prefix route for the
// host/path, which may be another route than the one whose backend serves
// the request (two routes for one key: new backend, old headers)" (§9).
func TestHeadersFromFirstEnabledLongestPrefix(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.expect("HEADERS_SET|{sid}|ALL|X-Gen|old", "HEADERS_OK")
	c.addApply("a.com|/x|http://old:1|0") // r1
	c.expect("HEADERS_SET|{sid}|ALL|X-Gen|new", "HEADERS_OK")
	c.addApply("a.com|/x|http://new:1|0") // r2
	got := srv.Resolve("a.com", "/x")
	if got.Backend != "http://new:1" || got.RouteID != "r2" || got.HeaderRouteID != "r1" || got.Headers["X-Gen"] != "old" {
		t.Fatalf("Resolve = %+v, want backend new:1 (r2) with the headers of r1", got)
	}
}

// TestDropDisablesByDomainAndPath: "A dropped session disables routes by
// domain+path, so other sessions' routes on that key lose their headers too"
// (§9); the first enabled route then gives the headers, while disabled
// routes still serve (§4: they take part in both lookups).
func TestDropDisablesByDomainAndPath(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	a, b := dial(t, srv), dial(t, srv)
	sidA := a.register("svc", "instA")
	b.register("svc", "instB")
	a.expect("HEADERS_SET|{sid}|ALL|X-By|a", "HEADERS_OK")
	a.addApply("a.com|/x|http://one:1|0")
	b.expect("HEADERS_SET|{sid}|ALL|X-By|b", "HEADERS_OK")
	b.addApply("a.com,b.com|/x|http://two:1|0", "a.com|/y|http://two:1|0")

	a.nc.Close()
	eventually(t, "session A dropped", func() bool { _, conn := connected(srv, sidA); return !conn })
	for _, r := range srv.ProxyRoutes() {
		if want := r.Path == "/x"; r.Disabled != want {
			t.Fatalf("%s %s disabled=%v, want %v", r.ID, r.Path, r.Disabled, want)
		}
	}
	for _, p := range []string{"/x", "/x/1"} {
		if got := srv.Resolve("a.com", p); got.Kind != TargetBackend || got.Headers != nil {
			t.Fatalf("Resolve(a.com, %s) = %+v, want served without headers", p, got)
		}
	}
	if got := srv.Resolve("a.com", "/y"); !maps.Equal(got.Headers, map[string]string{"X-By": "b"}) {
		t.Fatalf("Resolve(a.com, /y) headers = %v, want b's", got.Headers)
	}

	// A new enabled route for the key gives the headers; the disabled
	// routes before it in the list still serve the sub-paths.
	b.expect("HEADERS_SET|{sid}|ALL|X-By|b2", "HEADERS_OK")
	b.addApply("a.com|/x|http://three:1|0")
	got := srv.Resolve("a.com", "/x/1")
	if got.Backend != "http://one:1" || got.Headers["X-By"] != "b2" {
		t.Fatalf("Resolve(a.com, /x/1) = %+v, want backend one:1 with the new route's headers", got)
	}
}
