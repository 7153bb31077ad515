package agent

import (
	"strings"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestAgentMaintenanceByEditingTheFile: an operator flips maintenance in the
// file, by target, and lets `until` end it.
func TestAgentMaintenanceByEditingTheFile(t *testing.T) {
	routes := "routes:\n" + routeYAML("web", "a.example.com", "/", "http://web:3000") +
		routeYAML("admin", "admin.example.com", "/", "http://admin:3000")
	f := newFixture(t, header+routes)
	f.start(f.options())
	f.await(EventConfigApplied)

	wantKind := func(host string, want registrysim.TargetKind) {
		t.Helper()
		if got := f.sim.Resolve(host, "/x"); got.Kind != want {
			t.Fatalf("Resolve(%s) = %v, want %v", host, got.Kind, want)
		}
	}

	// One domain in maintenance; the other route stays live.
	f.write(header + routes + "maintenance:\n  enabled: true\n  targets: [admin.example.com]\n")
	// Named as the file names the route, not by the proxy's id.
	if ev := f.await(EventMaintRequested); ev.Message != "MAINT_ENTER admin" {
		t.Errorf("MAINT_REQUESTED says %q, want the route's name", ev.Message)
	}
	f.await(EventMaintProxyEntered)
	wantKind("admin.example.com", registrysim.TargetMaintenance)
	wantKind("a.example.com", registrysim.TargetBackend)
	awaitGauge(t, f.agent, "regagent_maintenance_active", 1)

	// Off again.
	f.write(header + routes + "maintenance:\n  enabled: false\n  targets: [admin.example.com]\n")
	f.await(EventMaintProxyExited)
	wantKind("admin.example.com", registrysim.TargetBackend)

	// The whole service, until a moment just ahead: it ends by itself.
	until := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	f.write(header + routes + "maintenance:\n  enabled: true\n  until: " + until + "\n")
	f.await(EventMaintProxyEntered)
	wantKind("a.example.com", registrysim.TargetMaintenance)
	wantKind("admin.example.com", registrysim.TargetMaintenance)
	awaitGauge(t, f.agent, "regagent_maintenance_active", 2)
	// The end says why.
	if ev := f.await(EventMaintExitRequested); !strings.HasSuffix(ev.Message, "has passed") ||
		!strings.Contains(ev.Message, "maintenance.until") {
		t.Errorf("MAINT_EXIT_REQUESTED at until says %q; want the reason", ev.Message)
	}
	f.await(EventMaintProxyExited)
	wantKind("a.example.com", registrysim.TargetBackend)
	wantKind("admin.example.com", registrysim.TargetBackend)
}

// awaitGauge waits for a gauge to read want. The proxy's MAINT_OK and the
// reconciler's bookkeeping of the same pass run on different goroutines,
// and no event marks the gauge's change: poll, with a failure bound.
func awaitGauge(t *testing.T, a *Agent, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := gauge(t, a, name); got != want; got = gauge(t, a, name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// gauge reads a gauge of the agent's registry.
func gauge(t *testing.T, a *Agent, name string) float64 {
	t.Helper()
	mfs, err := a.opts.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
