package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/registrysim"
)

func manyRoutes(n int, backend string) *config.Config {
	c := conf()
	c.Headers = map[string]string{"X-Env": "prod"}
	c.Options = map[string]string{"timeout": "30s"}
	for i := range n {
		r := rt(fmt.Sprintf("route%05d", i), fmt.Sprintf("h%d.example.com,www.h%d.example.com", i, i), "/", backend)
		if i%10 == 0 {
			r = withHealth(r, "/health")
		}
		c.Routes = append(c.Routes, r)
	}
	return c
}

// BenchmarkPlan10000: planning 10,000 routes against their applied state,
// unchanged and with one backend change (target < 20 ms).
func BenchmarkPlan10000(b *testing.B) {
	c := manyRoutes(10000, "http://b:3000")
	d := desired(c)
	a := simulate(b, NewApplied(1), plan(d, NewApplied(1)))
	changed := desired(manyRoutes(10000, "http://b:3000"))
	changed.Routes[5000].Backend = "http://c:3000"
	for _, bc := range []struct {
		name  string
		d     Desired
		steps int
	}{{"unchanged", d, 0}, {"one_change", changed, 7}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if got := plan(bc.d, a); len(got.Steps) != bc.steps {
					b.Fatalf("steps = %d, want %d", len(got.Steps), bc.steps)
				}
			}
		})
	}
}

// BenchmarkOneRouteBackendChange: what one backend change sends to a real
// registrysim over TCP (target: one write of 4 commands, plus the option
// and header lines).
func BenchmarkOneRouteBackendChange(b *testing.B) {
	h := newHarness(b)
	c := conf(rt("web", "example.com", "/", "http://w1"), rt("api", "example.com", "/api", "http://a"))
	h.sync(desired(c))
	s0, cmd0 := h.r.Status(), h.srv.CommandCount()
	i := 0
	for b.Loop() {
		i++
		c.Routes[0].Backend = fmt.Sprintf("http://w%d", (i+1)%2)
		h.sync(desired(c))
	}
	s := h.r.Status()
	b.ReportMetric(float64(s.Writes-s0.Writes)/float64(i), "writes/op")
	b.ReportMetric(float64(h.srv.CommandCount()-cmd0)/float64(i), "commands/op")
}

// BenchmarkInitialSync1000: a 1,000-route initial sync, one route in ten
// with a health check (target: ≤ 3 writes).
func BenchmarkInitialSync1000(b *testing.B) {
	d := desired(manyRoutes(1000, "http://b:3000"))
	var writes, cmds, n int
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b)
		b.StartTimer()
		h.sync(d)
		writes += h.r.Status().Writes
		cmds += h.srv.CommandCount()
		n++
	}
	b.ReportMetric(float64(writes)/float64(n), "writes/op")
	b.ReportMetric(float64(cmds)/float64(n), "commands/op")
}

// BenchmarkInitialSyncAllHealth: an initial sync where every route has a
// health check, so every HEALTH_SET reply follows every add of a bulk:
// per-route bookkeeping must stay linear.
func BenchmarkInitialSyncAllHealth(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := manyRoutes(n, "http://b:3000")
			for i := range c.Routes {
				c.Routes[i] = withHealth(c.Routes[i], "/health")
			}
			d := desired(c)
			for b.Loop() {
				b.StopTimer()
				h := newHarness(b)
				b.StartTimer()
				h.sync(d)
			}
			b.ReportMetric(float64(n), "routes")
		})
	}
}

// BenchmarkTakeOver: what a new process pays at its first session to purge
// what a killed predecessor left (§7), for 100 and 1,000 routes with
// health checks, with and without the predecessor's memory, on a proxy
// that kept the old routes; and, for comparison, after a proxy restart
// (the probe sent with REGISTER proves there is nothing to purge).
func BenchmarkTakeOver(b *testing.B) {
	for _, n := range []int{100, 1000} {
		c := conf()
		for i := range n {
			c.Routes = append(c.Routes, withHealth(rt(fmt.Sprintf("route%05d", i), fmt.Sprintf("h%d.example.com", i), "/", "http://b:3000"), "/health"))
		}
		d := desired(c)
		for _, mode := range []string{"kill", "kill+memory", "proxy-restart"} {
			b.Run(fmt.Sprintf("routes=%d/%s", n, mode), func(b *testing.B) {
				var total time.Duration
				var writes, cmds, applies, purged, runs int
				for b.Loop() {
					b.StopTimer()
					srv := registrysim.New(registrysim.Options{})
					if err := srv.Start(); err != nil {
						b.Fatal(err)
					}
					box := &memoryBox{}
					p1 := attachHarness(b, srv, nil, Options{Service: "svc", Instance: "i1", Remember: box.remember})
					p1.sync(d)
					p1.kill()
					if mode == "proxy-restart" {
						if err := srv.Restart(); err != nil {
							b.Fatal(err)
						}
					} else {
						waitFor(b, func() bool { return srv.ProxyRoutes()[0].Disabled })
					}
					var inherit *memoryBox
					if mode != "kill" {
						inherit = box
					}
					o := Options{}
					if inherit != nil {
						o = Options{Service: "svc", Instance: "i1", Inherited: inherit.last()}
					}
					p2 := attachHarness(b, srv, nil, o)
					srv.ResetCommands()
					b.StartTimer()
					start := time.Now()
					p2.sync(d)
					total += time.Since(start)
					b.StopTimer()
					st := p2.r.Status()
					writes += st.Writes
					cmds += st.Commands
					purged += st.LastCounts.Purged
					for _, l := range srv.Commands() {
						if strings.HasPrefix(l, "CONFIG_APPLY") {
							applies++
						}
					}
					runs++
					p2.kill()
					srv.Close()
					b.StartTimer()
				}
				b.ReportMetric(ms(total)/float64(runs), "ms/start")
				b.ReportMetric(float64(writes)/float64(runs), "writes/start")
				b.ReportMetric(float64(applies)/float64(runs), "applies/start")
				b.ReportMetric(float64(cmds)/float64(runs), "commands/start")
				b.ReportMetric(float64(purged)/float64(runs), "purged/start")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkReplayAfterProxyRestart: what each replay sends after a proxy
// restart, 100 routes with health checks and a header, over five restarts
// in a row (a restarted proxy has no orphans: nothing to purge).
func BenchmarkReplayAfterProxyRestart(b *testing.B) {
	c := conf()
	c.Headers = map[string]string{"X-Env": "prod"}
	for i := range 100 {
		c.Routes = append(c.Routes, withHealth(rt(fmt.Sprintf("route%05d", i), fmt.Sprintf("h%d.example.com", i), "/", "http://b:3000"), "/health"))
	}
	d := desired(c)
	var writes, cmds, purged, replays int
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b)
		h.sync(d)
		for range 5 {
			gen := h.cl.Generation()
			if err := h.srv.Restart(); err != nil {
				b.Fatal(err)
			}
			h.waitGeneration(gen)
			before := h.r.Status()
			b.StartTimer()
			h.sync(d)
			b.StopTimer()
			after := h.r.Status()
			writes += after.Writes - before.Writes
			cmds += after.Commands - before.Commands
			purged += after.LastCounts.Purged
			replays++
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(writes)/float64(replays), "writes/replay")
	b.ReportMetric(float64(cmds)/float64(replays), "commands/replay")
	b.ReportMetric(float64(purged)/float64(replays), "purged/replay")
}

// BenchmarkPlanInitial1000: planning the first sync of 1,000 routes, every
// one with a health check: the client-side time before the first write.
func BenchmarkPlanInitial1000(b *testing.B) {
	c := conf()
	for i := range 1000 {
		c.Routes = append(c.Routes, withHealth(rt(fmt.Sprintf("route%05d", i), fmt.Sprintf("h%d.example.com", i), "/", "http://b:3000"), "/health"))
	}
	d := desired(c)
	a := NewApplied(1)
	b.ReportAllocs()
	for b.Loop() {
		if got := Plan(d, a, PlanOptions{}); len(got.Steps) != 2001 {
			b.Fatalf("steps = %d", len(got.Steps))
		}
	}
}
