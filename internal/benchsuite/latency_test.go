package benchsuite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"regagent/internal/agent"
	"regagent/internal/registrysim"
)

// liveAgent is the in-process agent following a file, against a registrysim.
type liveAgent struct {
	sim     *registrysim.Server
	path    string
	applied chan time.Time // when each CONFIG_APPLIED was emitted
}

// startAgent writes spec, runs the agent on it until tb ends and waits for
// the initial sync.
func startAgent(tb testing.TB, spec fileSpec) *liveAgent {
	tb.Helper()
	la := &liveAgent{sim: startSim(tb), path: filepath.Join(tb.TempDir(), "registry.yaml"), applied: make(chan time.Time, 64)}
	writeFile(tb, la.path, spec.render())
	a, err := agent.New(agent.Options{
		ConfigPath: la.path,
		ProxyAddr:  la.sim.Addr(),
		Hostname:   "bench-host",
		// The state file is on by default: its writes are part of the
		// latency, in a directory of the test's own.
		StateFile: filepath.Join(tb.TempDir(), "regagent.state"),
		Lookup:    func(string) (string, bool) { return "", false },
		IPSource:  loopbackIP,
		OnEvent: func(ev agent.Event) {
			// Runs on the reconciler's goroutine right after the apply's
			// reply: the timestamp is the moment the agent knows.
			if ev.Name == agent.EventConfigApplied {
				select {
				case la.applied <- time.Now():
				default:
				}
			}
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("agent.Run: %v", err)
		}
	})
	la.waitApplied(tb, func() bool { return len(la.sim.ProxyRoutes()) == spec.Routes })
	return la
}

// waitApplied waits for a CONFIG_APPLIED after which live reports true, and
// returns the event's time.
func (la *liveAgent) waitApplied(tb testing.TB, live func() bool) time.Time {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case at := <-la.applied:
			if live() {
				return at
			}
		case <-deadline:
			tb.Fatal("no CONFIG_APPLIED with the change live within 10s")
		}
	}
}

// drain forgets events of earlier changes.
func (la *liveAgent) drain() {
	for {
		select {
		case <-la.applied:
		default:
			return
		}
	}
}

// BenchmarkSaveToLive: from the rename that saves a one-route change of a
// 100-route file to the CONFIG_APPLIED event of the in-process agent (whose
// result is then confirmed with registrysim's Resolve), with the default
// 100 ms debounce. Target: p50 ≤ debounce + 10 ms.
func BenchmarkSaveToLive(b *testing.B) {
	const n, changed = 100, 50
	b.Run("backend_change", func(b *testing.B) {
		la := startAgent(b, fileSpec{Routes: n, HealthEvery: 10})
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			backend := fmt.Sprintf("http://10.9.0.1:%d", 10000+i)
			spec := fileSpec{Routes: n, HealthEvery: 10, Backend: map[int]string{changed: backend}}
			la.drain()
			start := time.Now()
			writeFile(b, la.path, spec.render())
			at := la.waitApplied(b, func() bool {
				t := la.sim.Resolve(routeHost(changed), "/x")
				return t.Kind == registrysim.TargetBackend && t.Backend == backend
			})
			lat = append(lat, at.Sub(start))
		}
		reportLatency(b, lat)
	})
	b.Run("new_route", func(b *testing.B) {
		// The last route is replaced by one with a new name and domain:
		// the file keeps 100 routes, and the new domain must resolve.
		la := startAgent(b, fileSpec{Routes: n, HealthEvery: 10})
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			name := fmt.Sprintf("new-%d", i)
			spec := fileSpec{Routes: n, HealthEvery: 10, Renamed: map[int]string{n - 1: name}}
			la.drain()
			start := time.Now()
			writeFile(b, la.path, spec.render())
			at := la.waitApplied(b, func() bool {
				return la.sim.Resolve(name+".bench.test", "/").Kind == registrysim.TargetBackend
			})
			lat = append(lat, at.Sub(start))
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	// The default debounce is 100 ms: what is left is the agent's own work.
	b.ReportMetric(ms(p50-100*time.Millisecond), "p50-over-debounce-ms")
}
