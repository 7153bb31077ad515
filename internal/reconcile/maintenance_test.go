package reconcile

import (
	"slices"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
)

func TestPlanMaintenance(t *testing.T) {
	web := rt("web", "example.com", "/", "http://w")
	api := rt("api", "api.example.com", "/v1", "http://a")
	adm := rt("admin", "example.com", "/admin", "http://w") // shares web's backend
	routes := []config.Route{web, api, adm}
	past, future := t0.Add(-time.Minute), t0.Add(time.Minute)
	var zero time.Time
	maint := func(m config.Maintenance, port int) *config.Config {
		c := conf(routes...)
		c.Maintenance = m
		c.Service.MaintenancePort = port
		return c
	}
	tests := []struct {
		name     string
		from, to *config.Config
		want     []string
		warn     string
	}{
		{"whole service, built-in page", conf(routes...), maint(config.Maintenance{Enabled: true}, 0),
			[]string{"MAINT_ENTER ALL "}, ""},
		{"whole service, default page on maintenance_port", conf(routes...), maint(config.Maintenance{Enabled: true}, 8081),
			[]string{"MAINT_ENTER ALL http://10.0.0.5:8081/"}, ""},
		{"explicit page", conf(routes...), maint(config.Maintenance{Enabled: true, Page: "http://m/"}, 8081),
			[]string{"MAINT_ENTER ALL http://m/"}, ""},
		{"target by name", conf(routes...), maint(config.Maintenance{Enabled: true, Targets: []string{"api"}}, 0),
			[]string{"MAINT_ENTER api "}, ""},
		{"target by domain", conf(routes...), maint(config.Maintenance{Enabled: true, Targets: []string{"api.example.com"}}, 0),
			[]string{"MAINT_ENTER api "}, ""},
		{"target by path", conf(routes...), maint(config.Maintenance{Enabled: true, Targets: []string{"/v1"}}, 0),
			[]string{"MAINT_ENTER api "}, ""},
		{"shared backend warns (§5)", conf(routes...), maint(config.Maintenance{Enabled: true, Targets: []string{"web"}}, 0),
			[]string{"MAINT_ENTER web "}, `route "admin" is not a maintenance target but shares backend http://w`},
		{"unknown target warns", conf(routes...), maint(config.Maintenance{Enabled: true, Targets: []string{"api", "nope"}}, 0),
			[]string{"MAINT_ENTER api "}, `maintenance target "nope" matches no route`},
		{"until in the past is off", conf(routes...), maint(config.Maintenance{Enabled: true, Until: &past}, 0), nil, ""},
		{"until in the future is on", conf(routes...), maint(config.Maintenance{Enabled: true, Until: &future}, 0),
			[]string{"MAINT_ENTER ALL "}, ""},
		// The file's until is config's to read (Maintenance.Active): the
		// zero time is a time long past, not "no until".
		{"until at the zero time is off", conf(routes...), maint(config.Maintenance{Enabled: true, Until: &zero}, 0), nil, ""},
		{"leave whole service", maint(config.Maintenance{Enabled: true}, 0), conf(routes...),
			[]string{"MAINT_EXIT ALL"}, ""},
		{"leave when until passes", maint(config.Maintenance{Enabled: true, Until: &future}, 0), maint(config.Maintenance{Enabled: true, Until: &past}, 0),
			[]string{"MAINT_EXIT ALL"}, ""},
		{"leave a target", maint(config.Maintenance{Enabled: true, Targets: []string{"api"}}, 0), conf(routes...),
			[]string{"MAINT_EXIT api"}, ""},
		{"whole service to one target", maint(config.Maintenance{Enabled: true}, 0), maint(config.Maintenance{Enabled: true, Targets: []string{"api"}}, 0),
			[]string{"MAINT_EXIT ALL", "MAINT_ENTER api "}, ""},
		{"page change re-enters", maint(config.Maintenance{Enabled: true, Page: "http://m1/"}, 0), maint(config.Maintenance{Enabled: true, Page: "http://m2/"}, 0),
			[]string{"MAINT_ENTER ALL http://m2/"}, ""},
		{"reason change does nothing", maint(config.Maintenance{Enabled: true, Reason: "a"}, 0), maint(config.Maintenance{Enabled: true, Reason: "b"}, 0),
			nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := applied(t, tt.from)
			c, _ := converge(t, desired(tt.to), a)
			eqSteps(t, c, tt.want...)
			// Entering or leaving maintenance never re-adds routes (planner rule 7).
			if len(c.Changes) != 0 {
				t.Fatalf("route changes: %v", Diff(c))
			}
			if tt.warn != "" && !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, tt.warn) }) {
				t.Fatalf("warnings %q, want one containing %q", c.Warnings, tt.warn)
			}
			if tt.warn != "" && !strings.Contains(Diff(c), tt.warn) {
				t.Fatalf("Diff does not show the warning:\n%s", Diff(c))
			}
		})
	}
}

func TestPlanMaintenanceWithRouteChanges(t *testing.T) {
	api := rt("api", "api.example.com", "/", "http://a")
	c1 := conf(api)
	c1.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"api"}}
	a := applied(t, c1)

	// A re-add with the same backend: the proxy keeps maintenance on the
	// backend object, which would go with the removed route (§9). A keeper
	// route holds it from the removal's apply until the route is back, and
	// the new id is entered so that MAINT_STATUS lists it.
	c2 := conf(api)
	c2.Maintenance = c1.Maintenance
	c2.Headers = map[string]string{"X": "1"}
	got, _ := converge(t, desired(c2), a)
	eqSteps(t, got, "ADD keep#0 "+keepHost(desired(c2).Service, "http://a")+" / http://a 0", "REMOVE api r100", "APPLY",
		"HEADER X 1", "ADD api api.example.com / http://a 0", "APPLY", "REMOVE keep#0", "APPLY", "MAINT_ENTER api ")

	// A backend change while in maintenance: the new backend must be
	// entered with the new id, and the old one, which no route uses any
	// more, released through a temporary route (§5).
	c3 := conf(rt("api", "api.example.com", "/", "http://b"))
	c3.Maintenance = c1.Maintenance
	got, _ = converge(t, desired(c3), a)
	eqSteps(t, got, "REMOVE api r100", "APPLY", "ADD api api.example.com / http://b 0", "APPLY",
		"ADD release#0 "+releaseHost(desired(c3).Service, "http://a")+" / http://a 0", "APPLY",
		"MAINT_EXIT release#0", "REMOVE release#0", "APPLY",
		"MAINT_ENTER api ")
	if d := Diff(got); !strings.Contains(d, "- maintenance of unused backend http://a (released through a temporary route, §5)") {
		t.Fatalf("Diff:\n%s", d)
	}

	// Backend change and leaving maintenance at once: leave with the old
	// id, before the route is removed.
	got, _ = converge(t, desired(conf(rt("api", "api.example.com", "/", "http://b"))), a)
	eqSteps(t, got, "MAINT_EXIT api", "REMOVE api r100", "APPLY", "ADD api api.example.com / http://b 0", "APPLY")

	// Whole service: a route with a new backend needs ALL again.
	c4 := conf(api)
	c4.Maintenance = config.Maintenance{Enabled: true}
	a4 := applied(t, c4)
	c5 := conf(api, rt("web", "www.example.com", "/", "http://w"))
	c5.Maintenance = c4.Maintenance
	got, _ = converge(t, desired(c5), a4)
	eqSteps(t, got, "ADD web www.example.com / http://w 0", "APPLY", "MAINT_ENTER ALL ")
}
