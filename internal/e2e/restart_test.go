package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"regagent/internal/registrysim"
)

// The routes of a restart: web serves shop.test and www.shop.test from /,
// admin serves shop.test/admin. Sub-paths of web on shop.test are where a
// dead session's route, older in the proxy's list, keeps answering (§7).
const (
	backendA     = "http://web-a:3000"
	backendB     = "http://web-b:3000"
	adminBackend = "http://admin-a:3001"
	adminMoved   = "http://admin-c:3001"
)

func shopRoutes(web, admin string) []route {
	rs := []route{{name: "web", domains: []string{"shop.test", "www.shop.test"}, path: "/", backend: web}}
	if admin != "" {
		rs = append(rs, route{name: "admin", domains: []string{"shop.test"}, path: "/admin", backend: admin})
	}
	return rs
}

// restartRig runs the real binary, one process after another, against one
// registrysim, with the same config file and state file.
type restartRig struct {
	t     *testing.T
	sim   *registrysim.Server
	path  string // registry.yaml
	state string // --state-file: a path, or "off"
	extra string // shutdown and maintenance blocks of the file
	seen  [][]route
}

func newRestartRig(t *testing.T, withState bool) *restartRig {
	dir := t.TempDir()
	r := &restartRig{t: t, sim: startSim(t), path: filepath.Join(dir, "registry.yaml"), state: "off"}
	if withState {
		r.state = filepath.Join(dir, "regagent.state")
	}
	return r
}

// write replaces the file with routes, in place: a running agent waits a
// debounce period (a minute) before it reads such an edit, so only the
// next process reads it. (A rename into place would be read at once.)
func (r *restartRig) write(routes []route) {
	r.t.Helper()
	r.seen = append(r.seen, routes)
	writeInPlace(r.t, r.path, file{routes: routes, extra: r.extra, debounce: "1m"}.render())
}

// start runs the binary and waits for /readyz to answer 200.
func (r *restartRig) start() *proc {
	r.t.Helper()
	p := startProc(r.t, "run", "-c", r.path, "--proxy", r.sim.Addr(), "--status-addr", "127.0.0.1:0",
		"--state-file", r.state, "--log-format", "json")
	p.awaitReady(p.statusAddr())
	return p
}

// kill ends p with SIGKILL, as an OOM kill or a crash would, and waits for
// the proxy to see the connection drop: only then is the session in its
// grace, the state a new REGISTER turns into orphans (§7).
func (r *restartRig) kill(p *proc) {
	r.t.Helper()
	p.signal(syscall.SIGKILL)
	p.wait(waitTimeout)
	r.awaitGrace(p)
}

func (r *restartRig) awaitGrace(p *proc) {
	r.t.Helper()
	p.logs.until(r.t, "the dead session in its grace", func() error {
		ss := r.sim.Sessions()
		if len(ss) != 1 || ss[0].Connected {
			return fmt.Errorf("sessions %+v, want one in its grace", ss)
		}
		return nil
	})
}

// stateDoc is what the e2e tests read of the state file: whatever else it
// holds, it must name the backends live and in maintenance.
type stateDoc struct {
	Routes      []stateRoute      `json:"routes"`
	Maintenance map[string]string `json:"maintenance"`
}

type stateRoute struct {
	Domains []string `json:"domains"`
	Path    string   `json:"path"`
	Backend string   `json:"backend"`
}

// awaitState waits until the state file holds every route of routes and
// maintenance for each backend of maint: a kill before that would test
// the window between an apply and its write, not a restart.
func (r *restartRig) awaitState(p *proc, routes []route, maint ...string) {
	r.t.Helper()
	p.logs.until(r.t, "the state file holds the applied routes", func() error {
		b, err := os.ReadFile(r.state)
		if err != nil {
			return err
		}
		var doc stateDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		for _, want := range routes {
			if !slices.ContainsFunc(doc.Routes, func(got stateRoute) bool {
				return got.Path == want.path && got.Backend == want.backend && slices.Equal(got.Domains, want.domains)
			}) {
				return fmt.Errorf("no %v %s -> %s in %s", want.domains, want.path, want.backend, b)
			}
		}
		for _, m := range maint {
			if _, ok := doc.Maintenance[m]; !ok {
				return fmt.Errorf("no maintenance of %s in %s", m, b)
			}
		}
		return nil
	})
}

// fileTarget is where the file sends host+path: the route with that
// domain whose path is the longest prefix of path, or "" for none.
func fileTarget(routes []route, host, path string) string {
	best, backend := -1, ""
	for _, rt := range routes {
		if slices.Contains(rt.domains, host) && strings.HasPrefix(path, rt.path) && len(rt.path) > best {
			best, backend = len(rt.path), rt.backend
		}
	}
	return backend
}

// probes are every host any version of the file named, with every path
// any version named, that path plus "x" and a path below it.
func probes(versions [][]route) (hosts, paths []string) {
	for _, v := range versions {
		for _, rt := range v {
			for _, d := range rt.domains {
				if !slices.Contains(hosts, d) {
					hosts = append(hosts, d)
				}
			}
			for _, p := range []string{rt.path, rt.path + "x", strings.TrimSuffix(rt.path, "/") + "/deep"} {
				if !slices.Contains(paths, p) {
					paths = append(paths, p)
				}
			}
		}
	}
	return hosts, paths
}

// routesExactly checks, for every probe, that the proxy answers exactly
// what routes say, from a route of the live session (a previous process's
// route with the same backend would still be its route, not ours), with
// nothing in maintenance and nothing else in the proxy's list. except
// lists probes ("host path") that are checked by the caller instead.
func (r *restartRig) routesExactly(routes []route, except ...string) error {
	sid := liveSession(r.sim)
	if sid == "" {
		return errNoNewSession
	}
	var errs []error
	hosts, paths := probes(r.seen)
	for _, h := range hosts {
		for _, p := range paths {
			if slices.Contains(except, h+" "+p) {
				continue
			}
			want, got := fileTarget(routes, h, p), r.sim.Resolve(h, p)
			switch {
			case want == "" && got.Kind != registrysim.TargetNone:
				errs = append(errs, fmt.Errorf("Resolve(%s, %s) = %v %s (session %s), want no route", h, p, got.Kind, got.Backend, got.Session))
			case want != "" && (got.Kind != registrysim.TargetBackend || got.Backend != want || got.Session != sid):
				errs = append(errs, fmt.Errorf("Resolve(%s, %s) = %v %s (session %s), want %s from the live session %s",
					h, p, got.Kind, got.Backend, got.Session, want, sid))
			}
		}
	}
	if m := r.sim.InMaintenance(); len(m) > 0 {
		errs = append(errs, fmt.Errorf("backends still in maintenance: %v", m))
	}
	if len(except) == 0 {
		if err := exactTable(r.sim, routes); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *restartRig) check(what string, routes []route, except ...string) {
	r.t.Helper()
	if err := r.routesExactly(routes, except...); err != nil {
		r.t.Fatalf("%s, once /readyz is 200:\n%v\nproxy list: %+v", what, err, r.sim.ProxyRoutes())
	}
}

// An agent killed with SIGKILL, web's backend changed, the agent started
// again: no host or sub-path may still reach the old backend.
func TestRestartAfterSIGKILL(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, true)
	v1 := shopRoutes(backendA, adminBackend)
	r.write(v1)
	p := r.start()
	r.check("first start", v1)
	r.awaitState(p, v1)
	r.kill(p)

	v2 := shopRoutes(backendB, adminBackend)
	r.write(v2)
	r.start()
	r.check("after SIGKILL and a backend change", v2)
}

// shutdown.mode keep (a rolling update): the file changes under the
// running agent, which is stopped with SIGTERM before it reads it, and
// leaves its routes served; the next process must replace them.
func TestRestartAfterKeepShutdown(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, true)
	r.extra = "shutdown:\n  mode: keep\n"
	v1 := shopRoutes(backendA, adminBackend)
	r.write(v1)
	p := r.start()
	r.check("first start", v1)

	v2 := shopRoutes(backendB, adminBackend)
	r.write(v2)
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(shutdownBound); code != 0 {
		t.Fatalf("exit code %d after SIGTERM in keep mode", code)
	}
	r.awaitGrace(p)
	if err := resolvesTo(r.sim, v1, ""); err != nil {
		t.Fatalf("keep mode should leave the first version served: %v", err)
	}
	r.start()
	r.check("after a keep shutdown and a backend change", v2)
}

// A route deleted from the file while the agent was down. With the state
// file the restarted agent knows it made it live and removes it.
func TestRestartRouteDeletedWithStateFile(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, true)
	v1 := shopRoutes(backendA, adminBackend)
	r.write(v1)
	p := r.start()
	r.awaitState(p, v1)
	r.kill(p)

	v2 := shopRoutes(backendB, "")
	r.write(v2)
	p = r.start()
	l, _ := p.await("the state file read at start", 0, isMsg("state file read"))
	if n, _ := l.rec["routes"].(float64); n != float64(len(v1)) {
		t.Errorf("state file read with %v routes, want %d: %s", l.rec["routes"], len(v1), l.raw)
	}
	r.check("after a route was deleted while the agent was down", v2)
}

// The same without a state file: the limitation the README documents.
// Nothing on the wire names the deleted route, so its path stays served
// by the dead session's route; start-up said so. Every other probe is
// exactly the file: the routes the file names are purged regardless.
func TestRestartRouteDeletedWithoutStateFile(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, false)
	v1 := shopRoutes(backendA, adminBackend)
	r.write(v1)
	p := r.start()
	r.kill(p)

	v2 := shopRoutes(backendB, "")
	r.write(v2)
	p = r.start()
	p.await("the start-up warning about what cannot be cleaned", 0, func(l logLine) bool {
		return l.rec["level"] == "WARN" && strings.Contains(l.msg(), "routes deleted from the file while the agent was down")
	})
	left := []string{"shop.test /admin", "shop.test /adminx", "shop.test /admin/deep"}
	r.check("without a state file", v2, left...)
	for _, pr := range left {
		h, path, _ := strings.Cut(pr, " ")
		if got := r.sim.Resolve(h, path); got.Kind != registrysim.TargetBackend || got.Backend != adminBackend {
			t.Errorf("Resolve(%s, %s) = %v %s; the README says the deleted route stays served by %s without a state file",
				h, path, got.Kind, got.Backend, adminBackend)
		}
	}
}

// Maintenance entered by the killed process is stored per backend (§5)
// and survives its session: the next process, whose file has no
// maintenance, must release it.
func TestRestartReleasesInheritedMaintenance(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, true)
	r.extra = "maintenance:\n  enabled: true\n  targets: [admin]\n"
	v1 := shopRoutes(backendA, adminBackend)
	r.write(v1)
	p := r.start()
	p.await("MAINT_PROXY_ENTERED", 0, isEvent("MAINT_PROXY_ENTERED"))
	if got := r.sim.InMaintenance(); !slices.Equal(got, []string{adminBackend}) {
		t.Fatalf("in maintenance: %v, want [%s]", got, adminBackend)
	}
	r.awaitState(p, v1, adminBackend)
	r.kill(p)

	r.extra = ""
	r.write(v1)
	r.start()
	r.check("after a restart without maintenance in the file", v1)
}

// Three crashes in a row, with changes in between: a backend moved, a
// route moved, a route deleted. Each process must clean up after the one
// before, itself started after a crash.
func TestRestartThreeCrashesInARow(t *testing.T) {
	t.Parallel()
	r := newRestartRig(t, true)
	v := shopRoutes(backendA, adminBackend)
	r.write(v)
	p := r.start()
	for i, next := range [][]route{
		shopRoutes(backendB, adminBackend),
		shopRoutes(backendB, adminMoved),
		shopRoutes(backendA, ""),
	} {
		r.awaitState(p, v)
		r.kill(p)
		v = next
		r.write(v)
		p = r.start()
		r.check(fmt.Sprintf("after crash %d", i+1), v)
	}
}
