package agent

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestAgentScheduledWindowAcrossRestarts: a window committed ahead of time
// is entered at its from and left at its until by itself, the file never
// edited, with the agent restarted in the window (a new process that reads
// its state file) and the registry restarted after that. The agent's clock
// is the test's; a reload (SIGHUP) makes a pass due as the pass scheduled
// for the window's boundary would.
func TestAgentScheduledWindowAcrossRestarts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "regagent.state")
	from := time.Date(2030, 2, 1, 2, 0, 0, 0, time.UTC)
	until := from.Add(90 * time.Minute)
	var now atomic.Int64
	setNow := func(t time.Time) { now.Store(t.UnixNano()) }
	setNow(from.Add(-time.Hour))
	body := header + "state:\n  file: " + state + "\nshutdown:\n  mode: keep\nroutes:\n" +
		routeYAML("web", "a.example.com", "/", "http://web:3000") +
		routeYAML("admin", "admin.example.com", "/", "http://admin:3000") +
		"maintenance:\n  windows:\n    - name: upgrade\n      targets: [admin]\n" +
		"      from: " + from.Format(time.RFC3339) + "\n      until: " + until.Format(time.RFC3339) + "\n"
	f := newFixture(t, body)
	opts := f.options()
	opts.StateFile = "" // the file's state.file
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	admin := func(want registrysim.TargetKind, when string) {
		t.Helper()
		if got := f.sim.Resolve("admin.example.com", "/x"); got.Kind != want {
			t.Fatalf("%s: admin is %v, want %v", when, got.Kind, want)
		}
		f.wantBackend("a.example.com", "/x", "http://web:3000")
	}

	f.start(opts)
	f.await(EventConfigApplied)
	admin(registrysim.TargetBackend, "before from")

	setNow(from)
	f.agent.Reload()
	f.await(EventMaintProxyEntered)
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

	setNow(until)
	f.agent.Reload()
	f.await(EventMaintProxyExited)
	admin(registrysim.TargetBackend, "after until")
	if got := f.sim.InMaintenance(); len(got) != 0 {
		t.Fatalf("backends in maintenance after the window: %v", got)
	}
}
