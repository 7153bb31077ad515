package reconcile

import (
	"fmt"
	"testing"

	"regagent/internal/config"
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
