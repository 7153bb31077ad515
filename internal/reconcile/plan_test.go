package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
)

// applied returns the state after c was fully applied from scratch.
func applied(tb testing.TB, c *config.Config) Applied {
	tb.Helper()
	_, a := converge(tb, desired(c), NewApplied(1))
	return a
}

func TestPlanRules(t *testing.T) {
	web := rt("web", "example.com", "/", "http://b:3000")
	api := rt("api", "example.com", "/api", "http://a")
	old := rt("old", "old.example.com", "/", "http://o")
	hdr := func(c *config.Config) *config.Config { c.Headers = map[string]string{"X-Env": "prod"}; return c }
	opt := func(c *config.Config) *config.Config { c.Options = map[string]string{"timeout": "30s"}; return c }

	tests := []struct {
		name     string
		from, to *config.Config
		want     []string
	}{
		{"1 nothing changed", conf(web, api), conf(api, web), nil},
		{"1 domain order is no change", conf(rt("m", "a.com,b.com", "/", "http://x")), conf(rt("m", "b.com,a.com", "/", "http://x")), nil},
		{"2 new route", conf(), conf(web),
			[]string{"ADD web example.com / http://b:3000 0", "APPLY"}},
		{"2 new routes stage the full header and option set", opt(hdr(conf(web))), opt(hdr(conf(web, api))),
			[]string{"OPTION timeout 30s", "HEADER X-Env prod", "ADD api example.com /api http://a 0", "APPLY"}},
		{"2 health path without slash (§4)", conf(), conf(withHealth(api, "/health")),
			[]string{"ADD api example.com /api http://a 0", "HEALTH api health 10s 2s", "APPLY"}},
		{"3 removed route", conf(web, api, old), conf(web, api),
			[]string{"REMOVE old r101", "APPLY"}},
		{"4 backend change is break before make", conf(web, api), conf(web, rt("api", "example.com", "/api", "http://b")),
			[]string{"REMOVE api r100", "APPLY", "ADD api example.com /api http://b 0", "APPLY"}},
		{"4 domains change", conf(web, api), conf(web, rt("api", "example.com,www.example.com", "/api", "http://a")),
			[]string{"REMOVE api r100", "APPLY", "ADD api example.com,www.example.com /api http://a 0", "APPLY"}},
		{"4 path change", conf(web, api), conf(web, rt("api", "example.com", "/v2", "http://a")),
			[]string{"REMOVE api r100", "APPLY", "ADD api example.com /v2 http://a 0", "APPLY"}},
		{"4 priority only is ROUTE_UPDATE", conf(web, api), conf(web, withPriority(api, 5)),
			[]string{"UPDATE api r100 priority 5", "APPLY"}},
		{"4 priority only stages the full set and the health check: the updated copy gets only those (§4)",
			opt(hdr(conf(web, withHealth(api, "/h")))), opt(hdr(conf(web, withPriority(withHealth(api, "/h"), 5)))),
			[]string{"UPDATE api r100 priority 5", "OPTION timeout 30s", "HEADER X-Env prod", "HEALTH api h 10s 2s", "APPLY"}},
		{"4 rename on the same domain+path: remove and add in separate applies", conf(web, old), conf(web, rt("new", "old.example.com", "/", "http://o")),
			[]string{"REMOVE old r100", "APPLY", "ADD new old.example.com / http://o 0", "APPLY"}},
		{"5 header change re-adds every route", hdr(conf(web, api)), conf(web, api),
			[]string{"REMOVE api r100", "REMOVE web r101", "APPLY", "ADD api example.com /api http://a 0", "ADD web example.com / http://b:3000 0", "APPLY"}},
		{"5 option change re-adds every route with the new set", conf(web, api), opt(conf(web, api)),
			[]string{"REMOVE api r100", "REMOVE web r101", "APPLY", "OPTION timeout 30s", "ADD api example.com /api http://a 0", "ADD web example.com / http://b:3000 0", "APPLY"}},
		{"6 health check change re-adds the route with the check", conf(web, withHealth(api, "/h1")), conf(web, withHealth(api, "/h2")),
			[]string{"REMOVE api r100", "APPLY", "ADD api example.com /api http://a 0", "HEALTH api h2 10s 2s", "APPLY"}},
		{"6 health check removed", conf(web, withHealth(api, "/h1")), conf(web, api),
			[]string{"REMOVE api r100", "APPLY", "ADD api example.com /api http://a 0", "APPLY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := applied(t, tt.from)
			c, _ := converge(t, desired(tt.to), a)
			eqSteps(t, c, tt.want...)
			if len(tt.want) == 0 && Diff(c) != "no changes\n" {
				t.Fatalf("Diff = %q", Diff(c))
			}
		})
	}
}

func TestPlanOverlapClosure(t *testing.T) {
	// b is kept, but it shares y.com/ with a, whose removal deletes every
	// proxy route with the same path and an overlapping domain (§4). The
	// applied state is built by hand: a desired state may not overlap.
	a := NewApplied(1)
	a.Routes["a"] = AppliedRoute{ID: "r1", Spec: RouteSpec{Name: "a", Domains: []string{"x.com", "y.com"}, Path: "/", Backend: "http://a"}, Options: map[string]string{}, Headers: map[string]string{}}
	a.Routes["b"] = AppliedRoute{ID: "r2", Spec: RouteSpec{Name: "b", Domains: []string{"y.com"}, Path: "/", Backend: "http://b"}, Options: map[string]string{}, Headers: map[string]string{}}
	a.Routes["c"] = AppliedRoute{ID: "r3", Spec: RouteSpec{Name: "c", Domains: []string{"z.com"}, Path: "/", Backend: "http://c"}, Options: map[string]string{}, Headers: map[string]string{}}
	d := desired(conf(rt("b", "y.com", "/", "http://b"), rt("c", "z.com", "/", "http://c")))
	c, _ := converge(t, d, a)
	eqSteps(t, c, "REMOVE a r1", "REMOVE b r2", "APPLY", "ADD b y.com / http://b 0", "APPLY")
	if !strings.Contains(Diff(c), "~ route b overlaps removed route x.com,y.com/ -> http://a (§4) (re-add)") {
		t.Fatalf("Diff:\n%s", Diff(c))
	}
}

func TestPlanMassRemoval(t *testing.T) {
	four := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"), rt("c", "c.com", "/", "http://c"), rt("d", "d.com", "/", "http://d"))
	a := applied(t, four)
	one := conf(rt("a", "a.com", "/", "http://a"))

	got := plan(desired(one), a)
	if !errors.Is(got.Err, ErrMassRemoval) || !got.Empty() {
		t.Fatalf("Err=%v steps=%v, want ErrMassRemoval and no steps", got.Err, steps(got))
	}
	if !strings.Contains(Diff(got), "3 of 4 live routes") {
		t.Fatalf("Diff does not say why:\n%s", Diff(got))
	}
	// Two of four is not more than half.
	if got := plan(desired(conf(four.Routes[:2]...)), a); got.Err != nil {
		t.Fatalf("2 of 4: %v", got.Err)
	}
	allow := conf(one.Routes...)
	allow.AllowMassRemoval = true
	if got := plan(desired(allow), a); got.Err != nil || len(got.Steps) != 4 {
		t.Fatalf("allow_mass_removal: Err=%v steps=%v", got.Err, steps(got))
	}
	empty := conf()
	if got := plan(desired(empty), a); !errors.Is(got.Err, ErrMassRemoval) {
		t.Fatalf("routes missing (truncated file): Err=%v", got.Err)
	}
	empty.RoutesExplicitlyEmpty = true
	if got := plan(desired(empty), a); got.Err != nil || len(got.Steps) != 5 {
		t.Fatalf("routes: []: Err=%v steps=%v", got.Err, steps(got))
	}
	// Renaming every route onto the same domain+path drops nothing.
	renamed := conf(rt("a2", "a.com", "/", "http://a"), rt("b2", "b.com", "/", "http://b"), rt("c2", "c.com", "/", "http://c"), rt("d2", "d.com", "/", "http://d"))
	if got := plan(desired(renamed), a); got.Err != nil {
		t.Fatalf("rename: %v", got.Err)
	}
	// A custom threshold.
	if got := Plan(desired(conf(four.Routes[:3]...)), a, PlanOptions{Now: t0, MassRemovalThreshold: 0.2}); !errors.Is(got.Err, ErrMassRemoval) {
		t.Fatalf("threshold 0.2, 1 of 4: Err=%v", got.Err)
	}
}

func TestPlanUntilFuture(t *testing.T) {
	c := conf(rt("a", "a.com", "/", "http://a"))
	until := t0.Add(time.Hour)
	c.Maintenance = config.Maintenance{Enabled: true, Until: &until}
	got := plan(desired(c), applied(t, conf(c.Routes...)))
	if !got.RequeueAt.Equal(until) {
		t.Fatalf("RequeueAt = %v, want %v", got.RequeueAt, until)
	}
}

// TestDiffShowsOptionsAndHeaders: the review of a plan shows what the added
// routes will carry, not only where they go.
func TestDiffShowsOptionsAndHeaders(t *testing.T) {
	c := conf(rt("web", "example.com", "/", "http://b:3000"))
	c.Options = map[string]string{"timeout": "30s", "websocket": "true"}
	c.Headers = map[string]string{"X-Env": "prod"}
	got := Plan(desired(c), NewApplied(1), PlanOptions{Now: time.Now()})
	want := "+ route web example.com/ -> http://b:3000\n  with options [timeout=30s, websocket=true] headers [X-Env: prod]\n"
	if d := Diff(got); d != want {
		t.Fatalf("Diff:\n%s\nwant:\n%s", d, want)
	}
}

func TestDiffShowsMaintenanceReason(t *testing.T) {
	c := conf(rt("web", "example.com", "/", "http://b:3000"))
	c.Maintenance = config.Maintenance{Enabled: true, Reason: "database migration"}
	got, _ := converge(t, desired(c), applied(t, conf(rt("web", "example.com", "/", "http://b:3000"))))
	if d := Diff(got); !strings.Contains(d, "+ maintenance ALL (page built-in, reason: database migration)") {
		t.Fatalf("Diff:\n%s", d)
	}
}
