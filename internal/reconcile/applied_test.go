package reconcile

import (
	"testing"
)

func TestObserveDrift(t *testing.T) {
	web := rt("web", "example.com", "/", "http://w")
	api := rt("api", "example.com", "/api", "http://a")
	d := desired(conf(web, api))
	a := applied(t, conf(web, api)) // api r100, web r101

	tests := []struct {
		name string
		list []Listed
		want []string
	}{
		{"in step", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "active"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://a", Status: "active"},
		}, nil},
		{"updated route listed twice (§3)", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Priority: 3, Status: "active"},
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "staged"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://a", Status: "active"},
		}, nil},
		{"missing route is added again", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "active"},
		}, []string{"OPTION timeout 1s", "ADD api example.com /api http://a 0", "APPLY"}},
		{"different route is re-added", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "active"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://elsewhere", Status: "active"},
		}, []string{"REMOVE api r100", "APPLY", "OPTION timeout 1s", "ADD api example.com /api http://a 0", "APPLY"}},
		{"priority changed behind our back", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Priority: 9, Status: "active"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://a", Status: "active"},
		}, []string{"UPDATE web r101 priority 0", "OPTION timeout 1s", "APPLY"}},
		{"unknown route is removed, and what it overlaps re-added (§4)", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "active"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://a", Status: "active"},
			{ID: "r7", Domains: []string{"other.com", "example.com"}, Path: "/api", Backend: "http://x", Status: "active"},
		}, []string{"REMOVE api r100", "REMOVE  r7", "APPLY", "OPTION timeout 1s", "ADD api example.com /api http://a 0", "APPLY"}},
		{"staged-only entries are not live", []Listed{
			{ID: "r101", Domains: []string{"example.com"}, Path: "/", Backend: "http://w", Status: "active"},
			{ID: "r100", Domains: []string{"example.com"}, Path: "/api", Backend: "http://a", Status: "active"},
			{ID: "r8", Domains: []string{"x.com"}, Path: "/", Backend: "http://x", Status: "staged"},
		}, nil},
		{"empty list after a server restart: everything re-added", nil,
			[]string{"OPTION timeout 1s", "ADD api example.com /api http://a 0", "ADD web example.com / http://w 0", "APPLY"}},
	}
	d.Options = map[string]string{"timeout": "1s"}
	for name, r := range a.Routes {
		r.Options = d.Options
		a.Routes[name] = r
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := converge(t, d, a.Observe(tt.list))
			eqSteps(t, c, tt.want...)
		})
	}
}

func TestReplayAfterRegister(t *testing.T) {
	web := rt("web", "example.com", "/", "http://w")
	api := withHealth(rt("api", "example.com", "/api", "http://a"), "/h")
	c := conf(web, api)
	c.Maintenance.Enabled = true
	a := applied(t, c).Reset(2)
	if len(a.Routes) != 0 || len(a.Orphans) != 2 || a.Generation != 2 {
		t.Fatalf("Reset: %+v", a)
	}

	// Same routes, no headers: the orphans route the same way, the replay
	// adds everything in one apply and re-enters maintenance (planner rule 9).
	got, _ := converge(t, desired(c), a)
	eqSteps(t, got, "ADD api example.com /api http://a 0", "ADD web example.com / http://w 0", "HEALTH api h 10s 2s", "APPLY", "MAINT_ENTER ALL ")

	// web's backend changed while disconnected: its orphan is purged
	// first (§7: add, apply, remove, apply, add, apply).
	c2 := conf(rt("web", "example.com", "/", "http://w2"), api)
	got, _ = converge(t, desired(c2), a)
	eqSteps(t, got,
		"ADD orphan#0 example.com / http://w 0", "APPLY",
		"REMOVE orphan#0", "APPLY",
		"ADD api example.com /api http://a 0", "ADD web example.com / http://w2 0", "HEALTH api h 10s 2s", "APPLY",
		// maintenance is off now; the proxy may still hold it for
		// http://a and http://w from the old session (§5); no route
		// uses http://w any more: it is released through a copy
		"ADD release#0 "+releaseHost(desired(c2).Service, "http://w")+" / http://w 0", "APPLY",
		"MAINT_EXIT release#0", "REMOVE release#0", "APPLY",
		"MAINT_EXIT api")
	if d := Diff(got); d != "+ route api example.com/api -> http://a (health /h every 10s (timeout 2s))\n+ route web example.com/ -> http://w2\n- orphan example.com/ -> http://w (purge: add, apply, remove, apply, §7)\n- maintenance of unused backend http://w (released through a temporary route, §5)\n- maintenance api\n" {
		t.Fatalf("Diff:\n%s", d)
	}

	// api's health check changed while disconnected: its orphan keeps the
	// old check and the sub-paths, so it is purged too.
	c4 := conf(web, withHealth(rt("api", "example.com", "/api", "http://a"), "/h2"))
	got, _ = converge(t, desired(c4), a)
	if n := got.Counts().Purged; n != 1 {
		t.Fatalf("purged %d, want 1 (api): %v", n, steps(got))
	}

	// With headers, every orphan is purged: a disconnected session's
	// routes are served without headers (§7), and sub-paths stay on them.
	c3 := conf(web, api)
	c3.Headers = map[string]string{"X": "1"}
	got, _ = converge(t, desired(c3), a)
	if n := got.Counts().Purged; n != 2 {
		t.Fatalf("purged %d, want 2: %v", n, steps(got))
	}
}
