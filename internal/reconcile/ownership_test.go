package reconcile

import (
	"slices"
	"sync"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/registrysim"
)

// shopConfig is the service of the restart scenarios: web on two domains at
// /, admin on one at /admin, web's backend given.
func shopConfig(webBackend string, extra ...config.Route) *config.Config {
	routes := []config.Route{
		rt("web", "shop.test,www.shop.test", "/", webBackend),
		rt("admin", "shop.test", "/admin", "http://admin:3000"),
	}
	return conf(append(routes, extra...)...)
}

// memoryBox keeps the last memory a reconciler remembered, as the state
// file does.
type memoryBox struct {
	mu sync.Mutex
	m  *Memory
	n  int
}

func (b *memoryBox) remember(m Memory) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m = &m
	b.n++
}

func (b *memoryBox) last() *Memory {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m
}

func startSim(t testing.TB) *registrysim.Server {
	t.Helper()
	srv := registrysim.New(registrysim.Options{MaintTimeout: 500 * time.Millisecond, MaintInterval: 5 * time.Millisecond,
		ShuffleApply: true, Seed: 7})
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// process starts one agent process on srv, remembering into box (when not
// nil) and inheriting what box holds.
func process(t *testing.T, srv *registrysim.Server, box *memoryBox) *harness {
	t.Helper()
	var o Options
	if box != nil {
		o = Options{Service: "svc", Instance: "i1", Inherited: box.last(), Remember: box.remember}
	}
	return attachHarness(t, srv, nil, o)
}

// killed waits until the proxy has noticed that h's connection is gone:
// its routes are then disabled but still served (§7).
func killed(t *testing.T, h *harness) {
	t.Helper()
	h.kill()
	waitFor(t, func() bool {
		return !slices.ContainsFunc(h.srv.ProxyRoutes(), func(r registrysim.ProxyRoute) bool { return !r.Disabled })
	})
}

// A killed agent's routes stay served; a new process with another backend
// must leave no sub-path on the old one, on any domain, even without a
// state file (§7).
func TestNewProcessTakesOverItsPredecessorsRoutes(t *testing.T) {
	srv := startSim(t)
	p1 := process(t, srv, nil)
	p1.sync(desired(shopConfig("http://a:3000")))
	killed(t, p1)

	p2 := process(t, srv, nil)
	d := desired(shopConfig("http://b:3000"))
	p2.sync(d)
	p2.check(d, time.Now())
	for _, host := range []string{"shop.test", "www.shop.test"} {
		for _, path := range []string{"/x", "/deep/er", "/admin"} {
			got := srv.Resolve(host, path)
			if got.Backend == "http://a:3000" {
				t.Fatalf("Resolve(%s, %s) still reaches the killed process's backend", host, path)
			}
		}
	}
}

// With a state file, a route deleted while the agent was down is purged,
// and maintenance the old process entered is released.
func TestNewProcessCleansUpWhatItsMemoryLists(t *testing.T) {
	srv := startSim(t)
	box := &memoryBox{}
	p1 := process(t, srv, box)
	c1 := shopConfig("http://a:3000", rt("old", "old.shop.test", "/", "http://old:3000"))
	c1.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"admin"}}
	p1.sync(desired(c1))
	if got := srv.Resolve("shop.test", "/admin"); got.Kind != registrysim.TargetMaintenance {
		t.Fatalf("admin not in maintenance before the kill: %+v", got)
	}
	killed(t, p1)
	m := box.last()
	if m == nil || len(m.Routes) != 3 || m.Maintenance["http://admin:3000"] != "http://10.0.0.5:0/" && len(m.Maintenance) != 1 {
		t.Fatalf("memory after the first process: %+v", m)
	}

	p2 := process(t, srv, box)
	d := desired(shopConfig("http://a:3000"))
	p2.sync(d)
	p2.check(d, time.Now())
	if got := srv.Resolve("old.shop.test", "/x"); got.Kind != registrysim.TargetNone {
		t.Fatalf("a route deleted while the agent was down is still served: %+v", got)
	}
	if got := srv.InMaintenance(); len(got) != 0 {
		t.Fatalf("maintenance left by the killed process: %v", got)
	}
	if m := box.last(); len(m.Routes) != 2 || len(m.Maintenance) != 0 {
		t.Fatalf("memory after the second process: %+v", m)
	}
}

// Without a state file nothing tells a new process about a route deleted
// while it was down: that route stays served. This is the documented limit.
func TestNewProcessWithoutMemoryCannotSeeDeletedRoutes(t *testing.T) {
	srv := startSim(t)
	p1 := process(t, srv, nil)
	p1.sync(desired(shopConfig("http://a:3000", rt("old", "old.shop.test", "/", "http://old:3000"))))
	killed(t, p1)
	p2 := process(t, srv, nil)
	p2.sync(desired(shopConfig("http://a:3000")))
	if got := srv.Resolve("old.shop.test", "/x"); got.Backend != "http://old:3000" {
		t.Fatalf("Resolve(old.shop.test) = %+v; the limit documented changed", got)
	}
}

// Three crashes in a row, the file changing between them: each new
// process leaves exactly the file's routing.
func TestThreeCrashesInARow(t *testing.T) {
	srv := startSim(t)
	box := &memoryBox{}
	backends := []string{"http://a:3000", "http://b:3000", "http://c:3000", "http://d:3000"}
	var d Desired
	for i, b := range backends {
		p := process(t, srv, box)
		extra := []config.Route{rt("extra", "x"+b[7:8]+".shop.test", "/", b)}
		d = desired(shopConfig(b, extra...))
		d.AllowMassRemoval = true
		p.sync(d)
		p.check(d, time.Now())
		if i < len(backends)-1 {
			killed(t, p)
		}
	}
	for _, b := range backends[:3] {
		host := "x" + b[7:8] + ".shop.test"
		if got := srv.Resolve(host, "/"); got.Kind != registrysim.TargetNone {
			t.Fatalf("%s of an earlier process still served: %+v", host, got)
		}
	}
}

// After a proxy restart the table is empty: the new process's first route
// id proves it, and nothing is purged (a purge is a brief outage).
func TestNoPurgeAfterProxyRestart(t *testing.T) {
	srv := startSim(t)
	box := &memoryBox{}
	p1 := process(t, srv, box)
	p1.sync(desired(shopConfig("http://a:3000")))
	p1.kill()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	p2 := process(t, srv, box)
	d := desired(shopConfig("http://a:3000"))
	p2.sync(d)
	p2.check(d, time.Now())
	if n := p2.r.Status().LastCounts.Purged; n != 0 {
		t.Fatalf("purged %d routes on a restarted proxy", n)
	}
}

// Reconnects after proxy restarts never purge: the restarted proxy has no
// orphans, so a replay adds each route once.
func TestReconnectsAfterProxyRestartsDoNotPurge(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"))
	c.Headers = map[string]string{"X-A": "1"}
	d := desired(c)
	h.sync(d)
	for i := range 3 {
		gen := h.cl.Generation()
		if err := h.srv.Restart(); err != nil {
			t.Fatal(err)
		}
		h.waitGeneration(gen)
		h.sync(d)
		h.check(d, time.Now())
		if n := h.r.Status().LastCounts.Purged; n != 0 {
			t.Fatalf("restart %d: purged %d routes", i+1, n)
		}
	}
}

// A route in maintenance that is re-added (break before make) for any
// reason stays in maintenance: the proxy keeps maintenance on the backend
// object, which a re-add would renew (§9); MAINT_STATUS lists its new id.
func TestMaintenanceSurvivesEveryReadd(t *testing.T) {
	base := func() *config.Config {
		c := shopConfig("http://a:3000")
		c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"admin"}}
		return c
	}
	edits := map[string]func(*config.Config){
		"headers": func(c *config.Config) { c.Headers = map[string]string{"X-Edit": "1"} },
		"options": func(c *config.Config) { c.Options = map[string]string{"timeout": "5s"} },
		"health":  func(c *config.Config) { c.Routes[1] = withHealth(c.Routes[1], "/healthz") },
		"domains": func(c *config.Config) { c.Routes[1].Domains = []string{"shop.test", "admin.shop.test"} },
		"path":    func(c *config.Config) { c.Routes[1].Path = "/admin2" },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.sync(desired(base()))
			c := base()
			edit(c)
			d := desired(c)
			h.sync(d)
			h.check(d, time.Now())
			admin := d.Routes[slices.IndexFunc(d.Routes, func(r RouteSpec) bool { return r.Name == "admin" })]
			if got := h.srv.Resolve(admin.Domains[0], admin.Path); got.Kind != registrysim.TargetMaintenance {
				t.Fatalf("admin after the %s edit: %+v", name, got)
			}
			ids, err := maintenanceStatus(h.ctx, h.cl)
			if err != nil {
				t.Fatal(err)
			}
			if id := h.r.Applied().Routes["admin"].ID; !slices.Contains(ids, id) {
				t.Fatalf("MAINT_STATUS %v does not list admin's id %s", ids, id)
			}
		})
	}
}
