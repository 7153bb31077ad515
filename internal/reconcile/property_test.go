package reconcile

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"regagent/internal/config"
)

// TestPropertyConverges: after any sequence of desired configs, with
// dropped connections and server restarts in between, executing each plan
// against registrysim leaves the proxy routing every desired domain+path
// and its sub-paths to the desired backend with the desired headers,
// options, health checks and maintenance, and nothing else for the service;
// and a drift check finds no difference where there is none.
func TestPropertyConverges(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		h := newHarnessSeeded(rt, rapid.Int64Range(1, 1<<40).Draw(rt, "seed"))
		if rapid.Bool().Draw(rt, "drift") {
			// Every pass compares routes and maintenance with the
			// proxy's; nothing acts behind the agent's back, so a
			// difference found would be a false alarm (and a repair
			// sent for nothing).
			h.drift = time.Nanosecond
		}
		n := rapid.IntRange(1, 6).Draw(rt, "configs")
		for i := range n {
			switch rapid.IntRange(0, 7).Draw(rt, fmt.Sprintf("fault%d", i)) {
			case 0:
				gen := h.cl.Generation()
				h.srv.DropConnections()
				h.waitGeneration(gen)
			case 1:
				gen := h.cl.Generation()
				if err := h.srv.Restart(); err != nil {
					rt.Fatalf("Restart: %v", err)
				}
				h.waitGeneration(gen)
			}
			d := desired(genConfig(rt, i))
			h.sync(d)
			h.check(d, time.Now())
			if h.drift > 0 {
				h.sync(d) // a pass that only compares
				h.check(d, time.Now())
			}
		}
		if got := h.logged("WARN drift: "); len(got) != 0 {
			rt.Fatalf("drift found with nothing behind the agent's back: %q", got)
		}
	})
}

func genConfig(t *rapid.T, i int) *config.Config {
	paths := []string{"/", "/api", "/api/v2"}
	domains := []string{"a.com", "b.com", "c.com"}
	backends := []string{"http://b1", "http://b2", "http://b3/"}
	l := func(s string) string { return fmt.Sprintf("%s%d", s, i) }

	c := conf()
	c.AllowMassRemoval = true
	used := map[string]bool{}
	names := map[string]bool{}
	for j := range rapid.IntRange(0, 4).Draw(t, l("routes")) {
		lj := func(s string) string { return fmt.Sprintf("%s%d.%d", s, i, j) }
		name := rapid.SampledFrom([]string{"r1", "r2", "r3", "r4", "r5"}).Draw(t, lj("name"))
		path := rapid.SampledFrom(paths).Draw(t, lj("path"))
		var doms []string
		for _, dom := range domains {
			if !used[path+dom] && rapid.Bool().Draw(t, lj(dom)) {
				doms = append(doms, dom)
			}
		}
		if names[name] || len(doms) == 0 {
			continue
		}
		names[name] = true
		for _, dom := range doms {
			used[path+dom] = true
		}
		r := config.Route{Name: name, Domains: doms, Path: path, Backend: rapid.SampledFrom(backends).Draw(t, lj("backend")),
			Priority: rapid.IntRange(0, 2).Draw(t, lj("priority"))}
		if rapid.Bool().Draw(t, lj("health")) {
			r = withHealth(r, rapid.SampledFrom([]string{"/health", "ready"}).Draw(t, lj("hpath")))
		}
		c.Routes = append(c.Routes, r)
	}
	c.Options = rapid.SampledFrom([]map[string]string{nil, {"timeout": "30s"}, {"timeout": "10s", "websocket": "true"}}).Draw(t, l("options"))
	c.Headers = rapid.SampledFrom([]map[string]string{nil, {"X-A": "1"}, {"X-A": "2", "X-B": "b"}}).Draw(t, l("headers"))
	page := rapid.SampledFrom([]string{"", "http://page/"}).Draw(t, l("page"))
	switch rapid.IntRange(0, 4).Draw(t, l("maint")) {
	case 1:
		c.Maintenance = config.Maintenance{Enabled: true, Page: page}
	case 2:
		target := rapid.SampledFrom([]string{"r1", "r2", "a.com", "/api"}).Draw(t, l("target"))
		c.Maintenance = config.Maintenance{Enabled: true, Page: page, Targets: []string{target}}
	case 3:
		past := time.Now().Add(-time.Hour)
		c.Maintenance = config.Maintenance{Enabled: true, Page: page, Until: &past}
	case 4:
		// A window in force and one to come.
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		later := future.Add(time.Hour)
		target := rapid.SampledFrom([]string{"r1", "r2", "a.com", "/api"}).Draw(t, l("wtarget"))
		c.Maintenance = config.Maintenance{Page: page, Windows: []config.Window{
			{Name: "now", Targets: []string{target}, From: &past, Until: &future},
			{Name: "later", From: &future, Until: &later},
		}}
	}
	return c
}
