package benchsuite

import (
	"context"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/reconcile"
)

// costBase is the file every reconcile-cost case starts from: 100 routes,
// one in ten with a health check, one option and one header. The drift
// check is off so that no pass adds a ROUTE_LIST of its own.
func costBase() fileSpec {
	return fileSpec{Routes: 100, HealthEvery: 10, Timeout: "30s", Extra: "reconcile:\n  drift_interval: 0s\n"}
}

// BenchmarkReconcileCost counts what one reconcile pass sends for a single
// change of a 100-route file: round trips as the reconciler counts them
// (Status().Writes: batch sends plus maintenance commands), wire writes
// seen by a counting net.Conn, commands as the reconciler counts them and
// as registrysim received them. Each op applies the change (measured) and
// then reverts it (not measured).
func BenchmarkReconcileCost(b *testing.B) {
	mod := func(f func(*fileSpec)) fileSpec {
		s := costBase()
		f(&s)
		return s
	}
	for _, bc := range []struct {
		name   string
		change fileSpec
	}{
		{"backend_change", mod(func(s *fileSpec) { s.Backend = map[int]string{50: "http://10.9.9.9:8080"} })},
		{"route_added", mod(func(s *fileSpec) { s.Routes = 101 })},
		{"options_changed_100_routes", mod(func(s *fileSpec) { s.Timeout = "31s" })},
		{"maintenance_enter_1_route", mod(func(s *fileSpec) { s.Maintenance = routeName(50) })},
		{"maintenance_enter_all", mod(func(s *fileSpec) { s.Maintenance = "all" })},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchmarkReconcileCost(b, parseSpec(b, costBase()), parseSpec(b, bc.change))
		})
	}
}

func benchmarkReconcileCost(b *testing.B, base, changed *config.Config) {
	sim := startSim(b)
	var dialer countingDialer
	cl, stop := newBenchClient(b, sim.Addr(), dialer.Dial)
	defer stop()
	r := reconcile.New(cl, reconcile.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pass := func(cfg *config.Config) {
		b.Helper()
		r.SetDesired(cfg, "127.0.0.1")
		if _, err := r.Reconcile(ctx); err != nil {
			b.Fatalf("reconcile: %v", err)
		}
	}
	pass(base)

	var writes, wire, cmds, simCmds, n int
	var names, trace string
	for b.Loop() {
		s0, w0, c0 := r.Status(), dialer.writes.Load(), sim.CommandCount()
		if names == "" {
			dialer.startTrace()
		}
		pass(changed)
		if names == "" {
			trace = dialer.stopTrace()
		}
		s1, w1, lines := r.Status(), dialer.writes.Load(), sim.Commands()
		writes += s1.Writes - s0.Writes
		cmds += s1.Commands - s0.Commands
		wire += int(w1 - w0)
		simCmds += len(lines) - c0
		if names == "" {
			names = formatCounts(commandNames(lines[c0:]))
		}
		n++
		b.StopTimer()
		pass(base)
		b.StartTimer()
	}
	f := float64(n)
	b.ReportMetric(float64(writes)/f, "roundtrips/op")
	b.ReportMetric(float64(wire)/f, "wire-writes/op")
	b.ReportMetric(float64(cmds)/f, "commands/op")
	b.ReportMetric(float64(simCmds)/f, "sim-commands/op")
	b.Logf("commands of one change: %s", names)
	b.Logf("wire writes of one change: %s", trace)
}
