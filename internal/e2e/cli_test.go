package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// shutdownBound is the agent's bound on a shutdown (README: 10 s, plus the
// drain timeout in drain mode).
const shutdownBound = 10 * time.Second

func startSim(tb testing.TB) *registrysim.Server {
	tb.Helper()
	// The real server adds one apply's routes in random order (§9).
	sim := registrysim.New(registrysim.Options{ShuffleApply: true, Seed: 1})
	if err := sim.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := sim.Close(); err != nil {
			tb.Errorf("registrysim Close: %v", err)
		}
	})
	return sim
}

// binFile is the file of the binary runs. The debounce is a minute, the
// longest allowed, so the watcher leaves an edit written in place to
// SIGHUP while a test runs.
func binFile(shutdown, webBackend string) (string, []route) {
	routes := []route{
		{name: "web", domains: []string{"a.example.com", "www.example.com"}, path: "/", backend: webBackend, health: true},
		{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://api:3001"},
	}
	return file{proxy: []string{"keepalive_interval: 1s"}, routes: routes, shutdown: shutdown, debounce: "1m"}.render(), routes
}

func hasCommand(sim *registrysim.Server, name string) bool {
	return slices.ContainsFunc(sim.Commands(), func(c string) bool { return strings.HasPrefix(c, name+"|") })
}

// The real binary runs
// against a registrysim until /readyz is 200; an edit picked up by SIGHUP
// moves a route; SIGTERM shuts down as shutdown.mode says, within the
// bound, and the simulated proxy's routing table shows the mode.
func TestRunReloadAndShutdownModes(t *testing.T) {
	t.Parallel()
	const drain = 500 * time.Millisecond
	for _, mode := range []string{"deregister", "drain", "keep"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t)
			path := filepath.Join(t.TempDir(), "registry.yaml")
			shutdown := fmt.Sprintf("shutdown:\n  mode: %s\n  drain_timeout: %s\n", mode, drain)
			v1, routes1 := binFile(shutdown, "http://web-v1:3000")
			writeFile(t, path, v1)
			p := startProc(t, "run", "-c", path, "--proxy", sim.Addr(), "--status-addr", "127.0.0.1:0", "--log-format", "json")

			addr := p.statusAddr()
			p.awaitReady(addr)
			if err := servedLive(sim, routes1); err != nil {
				t.Fatalf("ready, but: %v", err)
			}
			if err := exactTable(sim, routes1); err != nil {
				t.Fatal(err)
			}
			checkStatus(t, addr, len(routes1))

			// Edit in place, then SIGHUP: the watcher would only read it
			// after a minute, so the move proves the signal.
			v2, routes2 := binFile(shutdown, "http://web-v2:3000")
			writeInPlace(t, path, v2)
			m := p.logs.mark()
			p.signal(syscall.SIGHUP)
			_, pos := p.await("reload requested after SIGHUP", m, isMsg("reload requested"))
			p.await("CONFIG_APPLIED after SIGHUP", pos, isEvent("CONFIG_APPLIED"))
			if err := servedLive(sim, routes2); err != nil {
				t.Fatalf("after SIGHUP: %v", err)
			}
			if err := exactTable(sim, routes2); err != nil {
				t.Fatalf("after SIGHUP: %v", err)
			}
			p.awaitReady(addr)

			sim.ResetCommands()
			m = p.logs.mark()
			p.signal(syscall.SIGTERM)
			l, pos := p.await("shutting down", m, isMsg("shutting down"))
			if l.rec["mode"] != mode {
				t.Errorf("shutting down in mode %v, want %s", l.rec["mode"], mode)
			}
			bound := shutdownBound
			if mode == "drain" {
				bound += drain
				p.await("draining", pos, isMsg("draining"))
				if err := resolvesTo(sim, routes2, ""); err != nil {
					t.Errorf("routes should be served while draining: %v", err)
				}
			}
			code, took := p.wait(bound)
			t.Logf("e2e: shutdown mode=%s exit_code=%d exit_ms=%.1f bound_ms=%.0f", mode, code, ms(took), ms(bound))
			if code != 0 {
				t.Fatalf("exit code %d after SIGTERM, want 0", code)
			}

			switch mode {
			case "deregister", "drain":
				if !hasCommand(sim, "CLIENT_SHUTDOWN") {
					t.Errorf("no CLIENT_SHUTDOWN sent: %q", sim.Commands())
				}
				if got := hasCommand(sim, "DRAIN_START"); got != (mode == "drain") {
					t.Errorf("DRAIN_START sent = %v in mode %s: %q", got, mode, sim.Commands())
				}
				if prs := sim.ProxyRoutes(); len(prs) != 0 {
					t.Errorf("proxy still routes %d entries after %s: %+v", len(prs), mode, prs)
				}
				for _, rt := range routes2 {
					if got := sim.Resolve(rt.domains[0], rt.path); got.Kind != registrysim.TargetNone {
						t.Errorf("Resolve(%s, %s) = %v %s after %s, want nothing", rt.domains[0], rt.path, got.Kind, got.Backend, mode)
					}
				}
			case "keep":
				if hasCommand(sim, "CLIENT_SHUTDOWN") || hasCommand(sim, "DRAIN_START") {
					t.Errorf("keep mode deregistered or drained: %q", sim.Commands())
				}
				// The proxy keeps serving the routes for its grace (§7).
				p.logs.until(t, "the session in its grace period", func() error {
					ss := sim.Sessions()
					if len(ss) != 1 || ss[0].Connected {
						return fmt.Errorf("sessions %+v, want one in grace", ss)
					}
					return nil
				})
				if err := resolvesTo(sim, routes2, ""); err != nil {
					t.Errorf("keep mode: %v", err)
				}
				if err := exactTable(sim, routes2); err != nil {
					t.Errorf("keep mode: %v", err)
				}
			}
		})
	}
}

// checkStatus reads /healthz and /status of a ready agent.
func checkStatus(tb testing.TB, addr string, routes int) {
	tb.Helper()
	if code, _, err := get(addr, "/healthz"); err != nil || code != http.StatusOK {
		tb.Fatalf("/healthz = %d, %v", code, err)
	}
	code, body, err := get(addr, "/status")
	if err != nil || code != http.StatusOK {
		tb.Fatalf("/status = %d, %v", code, err)
	}
	var s struct {
		Ready       bool   `json:"ready"`
		ConfigValid bool   `json:"config_valid"`
		Connection  string `json:"connection"`
		Reconciler  struct {
			Routes []struct {
				ID string `json:"id"`
			} `json:"routes"`
		} `json:"reconciler"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		tb.Fatalf("/status: %v\n%s", err, body)
	}
	if !s.Ready || !s.ConfigValid || s.Connection != "CONNECTED" || len(s.Reconciler.Routes) != routes {
		tb.Fatalf("/status ready=%v valid=%v connection=%s routes=%d, want ready, valid, CONNECTED, %d\n%s",
			s.Ready, s.ConfigValid, s.Connection, len(s.Reconciler.Routes), routes, body)
	}
}

// An invalid file at start-up: every error is printed with its position,
// the exit code is 1, and the registry receives nothing.
func TestRunRefusesInvalidFileAtStart(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	path := filepath.Join(t.TempDir(), "registry.yaml")
	body, _ := binFile("", "web-v1:3000")                                    // no scheme
	body = strings.Replace(body, "service:\n", "servise: {}\nservice:\n", 1) // unknown key
	writeFile(t, path, body)
	p := startProc(t, "run", "-c", path, "--proxy", sim.Addr(), "--log-format", "json")
	code, _ := p.wait(waitTimeout)
	if code != 1 {
		t.Errorf("exit code %d for an invalid file, want 1", code)
	}
	lines, _ := p.logs.since(0)
	positioned := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:\d+:\d+: `)
	var errs int
	var nothingSent bool
	for _, l := range lines {
		if positioned.MatchString(l.raw) {
			errs++
		}
		nothingSent = nothingSent || strings.Contains(l.raw, "nothing was sent")
	}
	if errs != 2 || !nothingSent {
		t.Errorf("stderr has %d positioned errors (want 2) and nothing-sent=%v", errs, nothingSent)
	}
	if n := sim.CommandCount(); n != 0 {
		t.Errorf("the registry received %d commands: %q", n, sim.Commands())
	}
	if prs := sim.ProxyRoutes(); len(prs) != 0 {
		t.Errorf("proxy routes %+v after a refused start", prs)
	}
}

// A second SIGTERM during a long drain exits at once (exit 1) without
// deregistering: the routes stay served by the session in its grace (§7).
func TestRunSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	path := filepath.Join(t.TempDir(), "registry.yaml")
	body, routes := binFile("shutdown:\n  mode: drain\n  drain_timeout: 1m\n", "http://web-v1:3000")
	writeFile(t, path, body)
	p := startProc(t, "run", "-c", path, "--proxy", sim.Addr(), "--status-addr", "127.0.0.1:0", "--log-format", "json")
	p.awaitReady(p.statusAddr())
	if err := servedLive(sim, routes); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGTERM)
	p.await("draining", 0, isMsg("draining"))
	p.signal(syscall.SIGTERM)
	// "At once" is far below the minute of drain left; 5 s is generous.
	code, took, exited := p.tryWait(5 * time.Second)
	if !exited {
		t.Fatal("a second SIGTERM did not end the process within 5 s")
	}
	t.Logf("e2e: second_signal exit_code=%d exit_ms=%.1f drain_timeout=1m", code, ms(took))
	if code != 1 {
		t.Errorf("exit code %d after a second signal, want 1", code)
	}
	if hasCommand(sim, "CLIENT_SHUTDOWN") {
		t.Errorf("CLIENT_SHUTDOWN sent despite the immediate exit")
	}
	if err := resolvesTo(sim, routes, ""); err != nil {
		t.Errorf("routes should stay served after an immediate exit: %v", err)
	}
}
