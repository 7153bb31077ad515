package e2e

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"regagent/internal/agent"
	"regagent/internal/faultnet"
	"regagent/internal/hostip"
	"regagent/internal/registrysim"
)

// setup says what runs around an in-process agent.
type setup struct {
	sim   registrysim.Options
	relay bool // put a faultnet relay between agent and registry
	// refuse makes the relay refuse connections from the start.
	refuse bool
	// path, when set, is a config file the caller has laid out already
	// (a ConfigMap-style symlink); content is then not written.
	path string
	// addrs, when set, are the host's interface addresses: ${SELF_IP} is
	// detected among them, within service.ip_cidr, looked at every 10ms.
	// Otherwise ${SELF_IP} is 10.0.0.1.
	addrs hostip.Addrs
}

// run is one in-process agent (agent.Run, as `regagent run` calls it)
// against a registrysim, possibly through a relay. Everything it starts
// ends when the test does, in reverse order.
type run struct {
	tb     testing.TB
	sim    *registrysim.Server
	relay  *faultnet.Relay
	path   string
	agent  *agent.Agent
	events *recorder[agent.Event]
	cancel context.CancelFunc
	done   chan error
}

func startRun(tb testing.TB, content string, s setup) *run {
	tb.Helper()
	r := &run{tb: tb, events: newRecorder[agent.Event]()}
	// The real server adds one apply's routes in random order (§9).
	s.sim.ShuffleApply = true
	if s.sim.Seed == 0 {
		s.sim.Seed = 1
	}
	r.sim = registrysim.New(s.sim)
	if err := r.sim.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := r.sim.Close(); err != nil {
			tb.Errorf("registrysim Close: %v", err)
		}
	})
	addr := r.sim.Addr()
	if s.relay {
		r.relay = faultnet.New(addr)
		r.relay.Refuse(s.refuse)
		if err := r.relay.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := r.relay.Close(); err != nil {
				tb.Errorf("relay Close: %v", err)
			}
		})
		addr = r.relay.Addr()
	}
	r.path = s.path
	if r.path == "" {
		r.path = filepath.Join(tb.TempDir(), "registry.yaml")
		writeFile(tb, r.path, content)
	}

	opts := agent.Options{
		ConfigPath: r.path,
		ProxyAddr:  addr,
		Hostname:   "e2e-host",
		// The test's own state file, never the machine's default.
		StateFile: filepath.Join(tb.TempDir(), "regagent.state"),
		Lookup:    func(string) (string, bool) { return "", false },
		IPSource:  func() (net.IP, error) { return net.IPv4(10, 0, 0, 1), nil },
		OnEvent:   r.events.add,
	}
	if s.addrs != nil {
		opts.IPSource, opts.InterfaceAddrs, opts.IPCheckInterval = nil, s.addrs, 10*time.Millisecond
	}
	a, err := agent.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	r.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		if r.cancel != nil {
			if err := r.stop(); err != nil {
				tb.Errorf("agent Run: %v", err)
			}
		}
	})
	return r
}

// stop cancels the agent's context, as SIGTERM does, and waits for Run.
func (r *run) stop() error {
	r.tb.Helper()
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(waitTimeout):
		r.tb.Fatal("agent Run did not return after its context ended")
		return nil
	}
}

// await returns the first event named name at or after position from, and
// the position after it.
func (r *run) await(name string, from int) (agent.Event, int) {
	r.tb.Helper()
	return r.events.await(r.tb, name+" event", from, isType(name))
}

// until waits for cond, re-checking it on every event.
func (r *run) until(what string, cond func() error) {
	r.tb.Helper()
	r.events.until(r.tb, what, cond)
}

// write replaces the config file (rename over it).
func (r *run) write(content string) {
	r.tb.Helper()
	writeFile(r.tb, r.path, content)
}

// snapshot is the agent's /status document.
func (r *run) snapshot() agent.Snapshot {
	return r.agent.Snapshot().(agent.Snapshot)
}

func isType(name string) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Name == name }
}

// firstApply waits for the agent's first CONFIG_APPLIED and the routes it
// serves, so that later waits on "the next CONFIG_APPLIED" cannot take the
// first one.
func (r *run) firstApply(routes []route) {
	r.tb.Helper()
	r.await(agent.EventConfigApplied, 0)
	r.until("first apply", func() error { return servedLive(r.sim, routes) })
}

// awaitDesired waits until the reconciler has taken a new desired state
// (it is then not converged): CONFIG_VALIDATED is emitted just before.
func (r *run) awaitDesired() {
	r.tb.Helper()
	r.until("the new file handed to the reconciler", func() error {
		if r.snapshot().Reconciler.Converged {
			return errors.New("reconciler still converged on the previous file")
		}
		return nil
	})
}
