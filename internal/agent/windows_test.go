package agent

import (
	"path/filepath"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestAgentScheduledWindowAcrossRestarts: a window committed ahead of time
// is entered at its from and left at its until by itself, the file never
// edited, with the agent restarted in the window (a new process that reads
// its state file) and the registry restarted after that.
func TestAgentScheduledWindowAcrossRestarts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "regagent.state")
	start := time.Now()
	// Wide enough for the restarts in between on a loaded machine.
	from, until := start.Add(time.Second), start.Add(6*time.Second)
	body := header + "state:\n  file: " + state + "\nshutdown:\n  mode: keep\nroutes:\n" +
		routeYAML("web", "a.example.com", "/", "http://web:3000") +
		routeYAML("admin", "admin.example.com", "/", "http://admin:3000") +
		"maintenance:\n  windows:\n    - name: upgrade\n      targets: [admin]\n" +
		"      from: " + from.UTC().Format(time.RFC3339Nano) + "\n      until: " + until.UTC().Format(time.RFC3339Nano) + "\n"
	f := newFixture(t, body)
	opts := f.options()
	opts.StateFile = "" // the file's state.file
	admin := func(want registrysim.TargetKind, when string) {
		t.Helper()
		if got := f.sim.Resolve("admin.example.com", "/x"); got.Kind != want {
			t.Fatalf("%s: admin is %v, want %v", when, got.Kind, want)
		}
		f.wantBackend("a.example.com", "/x", "http://web:3000")
	}

	f.start(opts)
	f.await(EventConfigApplied)
	if time.Now().Before(from) {
		admin(registrysim.TargetBackend, "before from")
	}
	f.await(EventMaintProxyEntered)
	if time.Now().Before(from) {
		t.Fatal("maintenance entered before the window's from")
	}
	f.await(EventConfigApplied) // the pass that entered it is over
	admin(registrysim.TargetMaintenance, "at from")

	// Stopped in keep mode, the proxy keeps the routes and their
	// maintenance; a new process takes over with its state file.
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	f.start(opts)
	f.await(EventConfigApplied)
	admin(registrysim.TargetMaintenance, "after the agent's restart")

	// The registry restarts: everything is gone until the replay, which
	// enters the window again.
	if err := f.sim.Restart(); err != nil {
		t.Fatal(err)
	}
	f.await(EventReconnected)
	f.await(EventConfigApplied)
	admin(registrysim.TargetMaintenance, "after the registry's restart")

	f.await(EventMaintProxyExited)
	if time.Now().Before(until) {
		t.Fatal("maintenance left before the window's until")
	}
	admin(registrysim.TargetBackend, "after until")
	if got := f.sim.InMaintenance(); len(got) != 0 {
		t.Fatalf("backends in maintenance after the window: %v", got)
	}
}
