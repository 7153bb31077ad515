package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"regagent/internal/config"
	"regagent/internal/registrysim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is a registrysim server, a config file in a temp dir and an
// agent running against both.
type fixture struct {
	t      *testing.T
	sim    *registrysim.Server
	dir    string
	path   string
	agent  *Agent
	events chan Event
	ip     atomic.Value // string: what the IP source reports
	cancel context.CancelFunc
	done   chan error
	// status is the address the status endpoint bound (see statusAddr).
	status atomic.Value
}

const header = `proxy:
  address: 127.0.0.1:1
  keepalive_interval: 1s
service:
  name: shop
  instance: i1
reload:
  debounce: 10ms
  poll_interval: 0s
`

func routeYAML(name, domain, path, backend string) string {
	return fmt.Sprintf("  - name: %s\n    domains: [%s]\n    path: %s\n    backend: %s\n", name, domain, path, backend)
}

func newFixture(t *testing.T, body string) *fixture {
	t.Helper()
	return newFixtureWith(t, registrysim.Options{}, body)
}

// newFixtureWith is newFixture with a registrysim of the given options.
func newFixtureWith(t *testing.T, simOpts registrysim.Options, body string) *fixture {
	t.Helper()
	sim := registrysim.New(simOpts)
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	f := &fixture{t: t, sim: sim, dir: t.TempDir(), events: make(chan Event, 1024)}
	f.path = filepath.Join(f.dir, "registry.yaml")
	f.ip.Store("10.0.0.1")
	f.write(body)
	return f
}

// write replaces the file the way editors do: a new file renamed over it.
func (f *fixture) write(body string) {
	f.t.Helper()
	tmp := filepath.Join(f.dir, ".registry.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) options() Options {
	return Options{
		ConfigPath: f.path,
		ProxyAddr:  f.sim.Addr(),
		Hostname:   "host1",
		// The test's own state file, never the machine's default.
		StateFile: filepath.Join(f.dir, "regagent.state"),
		Lookup:    func(string) (string, bool) { return "", false },
		IPSource: func() (net.IP, error) {
			return net.ParseIP(f.ip.Load().(string)), nil
		},
		OnEvent: func(ev Event) {
			select {
			case f.events <- ev:
			default:
				f.t.Errorf("event buffer full; dropped %s", ev.Name)
			}
		},
	}
}

// start runs the agent until the test ends (or stop is called).
func (f *fixture) start(opts Options) {
	f.t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = slog.New(addrCatcher{Handler: opts.Logger.Handler(), addr: &f.status})
	a, err := New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	f.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- a.Run(ctx) }()
	f.t.Cleanup(func() {
		if f.cancel != nil {
			f.stop()
		}
	})
}

// stop cancels the agent's context (SIGTERM) and waits for Run to return.
func (f *fixture) stop() error {
	f.t.Helper()
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.done:
		return err
	case <-time.After(20 * time.Second):
		f.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// await returns the next event named name, failing after a generous
// timeout.
func (f *fixture) await(name string) Event {
	f.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-f.events:
			if ev.Name == name {
				return ev
			}
		case <-timeout:
			f.t.Fatalf("no %s event", name)
		}
	}
}

// await2 returns the next event named a or b.
func (f *fixture) await2(a, b string) Event {
	f.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-f.events:
			if ev.Name == a || ev.Name == b {
				return ev
			}
		case <-timeout:
			f.t.Fatalf("no %s or %s event", a, b)
		}
	}
}

func (f *fixture) wantBackend(host, path, backend string) {
	f.t.Helper()
	got := f.sim.Resolve(host, path)
	if got.Kind != registrysim.TargetBackend || got.Backend != backend {
		f.t.Fatalf("Resolve(%s, %s) = %v %q, want backend %q", host, path, got.Kind, got.Backend, backend)
	}
}

func TestAgentAppliesAndFollowsTheFile(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://${SELF_IP}:3000"))
	f.start(f.options())
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/x", "http://10.0.0.1:3000")
	if ok, why := f.agent.Ready(); !ok {
		t.Fatalf("Ready = false (%s) after the first apply", why)
	}

	// A valid edit moves the route.
	f.write(header + "routes:\n" + routeYAML("web", "a.example.com", "/", "http://b2:3000"))
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/x", "http://b2:3000")

	// An invalid edit sends nothing and keeps the last good config.
	f.sim.ResetCommands()
	f.write(header + "routes:\n" + routeYAML("web", "a.example.com", "/", "b3:3000"))
	ev := f.await(EventConfigInvalid)
	if d, _ := ev.Detail.(ConfigInvalid); len(d.Errors) != 1 {
		t.Fatalf("CONFIG_INVALID detail = %+v, want one error", ev.Detail)
	}
	if n := f.sim.CommandCount(); n != 0 {
		t.Fatalf("an invalid file sent %d commands: %q", n, f.sim.Commands())
	}
	f.wantBackend("a.example.com", "/x", "http://b2:3000")
	if ok, why := f.agent.Ready(); !ok {
		t.Fatalf("Ready = false (%s) after an invalid edit; want it unchanged", why)
	}
	snap := f.agent.Snapshot().(Snapshot)
	if snap.ConfigValid || len(snap.Errors) != 1 || snap.InvalidHash == "" || snap.InvalidHash == snap.ConfigHash {
		t.Fatalf("Snapshot valid=%v errors=%v hashes %q/%q, want the error and both hashes",
			snap.ConfigValid, snap.Errors, snap.ConfigHash, snap.InvalidHash)
	}

	// Fixing the file recovers without a restart.
	f.write(header + "routes:\n" + routeYAML("web", "a.example.com", "/", "http://b4:3000"))
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/x", "http://b4:3000")
	if err := f.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestAgentInvalidAtStartSendsNothing(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "nope"))
	a, err := New(f.options())
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background())
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Run = %v, want config.Errors with one error", err)
	}
	if n := f.sim.CommandCount(); n != 0 {
		t.Fatalf("sent %d commands for an invalid file", n)
	}
}

func TestAgentShutdownModes(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		wantLive  bool
		wantDrain bool
	}{
		{"deregister", false, false},
		{"keep", true, false},
		{"drain", false, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			body := header + "shutdown:\n  mode: " + tc.mode + "\n  drain_timeout: 50ms\nroutes:\n" +
				routeYAML("web", "a.example.com", "/", "http://b:3000")
			f := newFixture(t, body)
			f.start(f.options())
			f.await(EventConfigApplied)
			if err := f.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			got := f.sim.Resolve("a.example.com", "/")
			if live := got.Kind == registrysim.TargetBackend; live != tc.wantLive {
				t.Fatalf("after shutdown Resolve = %v, want live=%v", got.Kind, tc.wantLive)
			}
			drained := false
			for _, c := range f.sim.Commands() {
				if len(c) >= 11 && c[:11] == "DRAIN_START" {
					drained = true
				}
			}
			if drained != tc.wantDrain {
				t.Fatalf("DRAIN_START sent = %v, want %v (commands %q)", drained, tc.wantDrain, f.sim.Commands())
			}
		})
	}
}

func TestAgentReloadRereadsUnchangedFile(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000"))
	f.start(f.options())
	f.await(EventConfigApplied)
	f.agent.Reload()
	ev := f.await(EventConfigValidated)
	if d, _ := ev.Detail.(ConfigValidated); d.Routes != 1 {
		t.Fatalf("CONFIG_VALIDATED after Reload: %+v", ev.Detail)
	}
}

func TestAgentFollowsAddressChange(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://${SELF_IP}:3000"))
	opts := f.options()
	opts.IPCheckInterval = 20 * time.Millisecond
	f.start(opts)
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/", "http://10.0.0.1:3000")

	f.ip.Store("10.0.0.2")
	ev := f.await(EventIPChanged)
	if d, _ := ev.Detail.(IPChanged); !d.New.Equal(net.IPv4(10, 0, 0, 2)) {
		t.Fatalf("IP_CHANGED detail %+v", ev.Detail)
	}
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/x", "http://10.0.0.2:3000")
}

// TestAgentChecksAddressAtReconnect: with no periodic check, a new
// connection is when a new address is noticed, and it is reported before
// the reconnection whose pass it changes.
func TestAgentChecksAddressAtReconnect(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://${SELF_IP}:3000"))
	opts := f.options()
	opts.IPCheckInterval = -1
	f.start(opts)
	f.await(EventConfigApplied)

	f.ip.Store("10.0.0.2")
	f.sim.DropConnections()
	var names []string
	for len(names) == 0 || names[len(names)-1] != EventReconnected {
		ev := f.await2(EventIPChanged, EventReconnected)
		names = append(names, ev.Name)
	}
	if len(names) != 2 || names[0] != EventIPChanged {
		t.Fatalf("events %v, want IP_CHANGED then RECONNECTED", names)
	}
	// The replay may run before the file is rendered for the new address;
	// the pass after it moves the route.
	for f.sim.Resolve("a.example.com", "/x").Backend != "http://10.0.0.2:3000" {
		f.await(EventConfigApplied)
	}
}

// TestAgentConcurrentSnapshots reads the status while the agent works, for
// the race detector.
func TestAgentConcurrentSnapshots(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000"))
	f.start(f.options())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				f.agent.Snapshot()
				f.agent.Ready()
			}
		}
	}()
	f.await(EventConfigApplied)
	f.write(header + "routes:\n" + routeYAML("web", "a.example.com", "/", "http://b2:3000"))
	f.await(EventConfigApplied)
	close(stop)
	wg.Wait()
}

// TestAgentWarnsAboutRestartOnlySettings: the routes of an edit apply live;
// a setting that belongs to the session (or is read at start) is reported.
func TestAgentWarnsAboutRestartOnlySettings(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000"))
	f.start(f.options())
	f.await(EventConfigApplied)
	edited := strings.Replace(header, "instance: i1", "instance: i2", 1)
	f.write(edited + "routes:\n" + routeYAML("web", "a.example.com", "/", "http://b2:3000"))
	ev := f.await(EventLog)
	if ev.Level != slog.LevelWarn || !strings.HasSuffix(ev.Message, "take effect when the agent restarts: service.instance") {
		t.Fatalf("LOG event %q %v, want the restart warning", ev.Message, ev.Level)
	}
	f.await(EventConfigApplied)
	f.wantBackend("a.example.com", "/x", "http://b2:3000")
	if got := f.sim.Sessions(); len(got) != 1 || got[0].Instance != "i1" {
		t.Fatalf("sessions %+v: the instance must not change before a restart", got)
	}
}

// TestAgentRefusedFileKeepsReadiness: a valid file the reconciler refuses
// (a mass removal) is treated like an invalid one: the last good config
// stays applied and readiness does not change.
func TestAgentRefusedFileKeepsReadiness(t *testing.T) {
	three := "routes:\n" + routeYAML("a", "a.example.com", "/", "http://a:1") +
		routeYAML("b", "b.example.com", "/", "http://b:1") + routeYAML("c", "c.example.com", "/", "http://c:1")
	f := newFixture(t, header+three)
	f.start(f.options())
	f.await(EventConfigApplied)

	f.write(header + "routes:\n" + routeYAML("a", "a.example.com", "/", "http://a:1"))
	ev := f.await(EventError)
	if !strings.Contains(ev.Message, "mass removal") {
		t.Fatalf("ERROR %q, want the mass-removal refusal", ev.Message)
	}
	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		if got := f.sim.Resolve(host, "/"); got.Kind != registrysim.TargetBackend {
			t.Fatalf("%s: %v after a refused removal", host, got.Kind)
		}
	}
	// The fallback pass that keeps the last good state in force follows
	// the refusal; wait for it through the status rather than a sleep.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok, _ := f.agent.Ready(); ok {
			break
		}
		if time.Now().After(deadline) {
			_, why := f.agent.Ready()
			t.Fatalf("not ready after a refused file: %s", why)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := f.agent.Snapshot().(Snapshot).Reconciler; st.Converged || !st.Terminal || !st.InForce {
		t.Fatalf("reconciler status converged=%v terminal=%v in_force=%v", st.Converged, st.Terminal, st.InForce)
	}
}
