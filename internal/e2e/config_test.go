package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"regagent/internal/registrysim"
)

// route is one route of a test file, and what the proxy should do with it.
type route struct {
	name    string
	domains []string
	path    string
	backend string
	health  bool
}

// file renders a registry.yaml. Timeouts are shortened through the file,
// as an operator would, never by skipping work.
type file struct {
	proxy       []string // extra lines under proxy:, indented by the caller
	routes      []route
	headers     map[string]string
	maintenance string // a maintenance: block, or ""
	shutdown    string // a shutdown: block, or ""
	extra       string // more top-level YAML
	debounce    string // reload.debounce; default 10ms
}

func (f file) render() string {
	var b strings.Builder
	b.WriteString("proxy:\n  address: 127.0.0.1:1\n  dial_timeout: 1s\n")
	for _, l := range f.proxy {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("service:\n  name: shop\n  instance: i1\n")
	debounce := f.debounce
	if debounce == "" {
		debounce = "10ms"
	}
	b.WriteString("reload:\n  poll_interval: 0s\n  debounce: " + debounce + "\n")
	b.WriteString("reconcile:\n  drift_interval: 0s\n")
	if len(f.headers) > 0 {
		b.WriteString("headers:\n")
		for _, k := range sortedKeys(f.headers) {
			fmt.Fprintf(&b, "  %s: %q\n", k, f.headers[k])
		}
	}
	b.WriteString(f.maintenance)
	b.WriteString(f.shutdown)
	b.WriteString(f.extra)
	if len(f.routes) == 0 {
		b.WriteString("routes: []\n")
	} else {
		b.WriteString("routes:\n")
	}
	for _, r := range f.routes {
		fmt.Fprintf(&b, "  - name: %s\n    domains: [%s]\n    path: %s\n    backend: %s\n",
			r.name, strings.Join(r.domains, ", "), r.path, r.backend)
		if r.health {
			b.WriteString("    health_check:\n      path: /healthz\n      interval: 10s\n      timeout: 2s\n")
		}
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// manyRoutes returns n routes on their own domains, with health checks.
func manyRoutes(n int, backend string) []route {
	rs := make([]route, n)
	for i := range rs {
		rs[i] = route{
			name:    fmt.Sprintf("r%d", i),
			domains: []string{fmt.Sprintf("s%d.example.com", i)},
			path:    "/",
			backend: fmt.Sprintf("%s%d:3000", backend, i),
			health:  true,
		}
	}
	return rs
}

// writeFile replaces path the way editors do: a new file renamed over it.
func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// writeInPlace truncates and rewrites the file, as an editor saving in
// place does: the watcher reads such an edit only once it has been quiet
// for a debounce period, whereas a rename into place (writeFile) is read
// at once.
func writeInPlace(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// subPath is a path below p.
func subPath(p string) string {
	return strings.TrimSuffix(p, "/") + "/sub/page"
}

// resolvesTo checks that every domain of every route sends its exact path
// and a sub-path to the route's backend (not maintenance, not 503). When
// owner is set, the exact path must be served by that session's route:
// after a reconnect, an orphan of the old session with the same backend
// would otherwise pass (§7).
func resolvesTo(sim *registrysim.Server, routes []route, owner string) error {
	for _, r := range routes {
		for _, d := range r.domains {
			for _, p := range []string{r.path, subPath(r.path)} {
				got := sim.Resolve(d, p)
				if got.Kind != registrysim.TargetBackend || got.Backend != r.backend {
					return fmt.Errorf("Resolve(%s, %s) = %v %q, want backend %q", d, p, got.Kind, got.Backend, r.backend)
				}
				if owner != "" && p == r.path && got.Session != owner {
					return fmt.Errorf("Resolve(%s, %s) is served by session %q, want the live session %q", d, p, got.Session, owner)
				}
			}
		}
	}
	return nil
}

// exactTable checks that the proxy's list holds exactly the routes, once
// each: nothing stale, no duplicate, no orphan.
func exactTable(sim *registrysim.Server, routes []route) error {
	type key struct{ domains, path, backend string }
	want := map[key]int{}
	for _, r := range routes {
		ds := slices.Sorted(slices.Values(r.domains))
		want[key{strings.Join(ds, ","), r.path, r.backend}]++
	}
	got := map[key]int{}
	for _, pr := range sim.ProxyRoutes() {
		ds := slices.Sorted(slices.Values(pr.Domains))
		got[key{strings.Join(ds, ","), pr.Path, pr.Backend}]++
	}
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("proxy list has %d× %v, want %d (list: %v)", got[k], k, n, got)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			return fmt.Errorf("proxy list has %d× %v, which the file does not want", n, k)
		}
	}
	return nil
}

// liveSession returns the id of the connected session of shop/i1, or "".
func liveSession(sim *registrysim.Server) string {
	for _, s := range sim.Sessions() {
		if s.Connected && s.Service == "shop" && s.Instance == "i1" {
			return s.ID
		}
	}
	return ""
}

// servedLive checks resolvesTo with the live session as the owner.
func servedLive(sim *registrysim.Server, routes []route) error {
	sid := liveSession(sim)
	if sid == "" {
		return fmt.Errorf("no live session")
	}
	return resolvesTo(sim, routes, sid)
}

var errNoNewSession = errors.New("no new live session yet")
