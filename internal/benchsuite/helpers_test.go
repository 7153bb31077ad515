package benchsuite

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"regagent/internal/registrysim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fileSpec describes a generated registry.yaml. Route i is named
// route-%05d, serves r<i>.bench.test at "/" and goes to backendOf(i).
type fileSpec struct {
	Proxy       string // proxy.address; the benchmarks override it anyway
	Routes      int
	HealthEvery int // every n-th route has a health check; 0 = none
	Timeout     string
	Backend     map[int]string // overrides of the default backend
	Renamed     map[int]string // overrides of route i's name and domain prefix
	Maintenance string         // "" off, "all", or a route index as text
	Extra       string         // YAML appended as is (reload, reconcile blocks)
}

func routeName(i int) string { return fmt.Sprintf("route-%05d", i) }

func routeHost(i int) string { return fmt.Sprintf("r%d.bench.test", i) }

func defaultBackend(i int) string {
	return fmt.Sprintf("http://10.%d.%d.%d:8080", i>>16&255, i>>8&255, i&255)
}

// render returns the file's text.
func (s fileSpec) render() string {
	var b strings.Builder
	proxy := s.Proxy
	if proxy == "" {
		proxy = "127.0.0.1:1"
	}
	fmt.Fprintf(&b, "proxy:\n  address: %s\nservice:\n  name: bench\n  instance: bench-1\n", proxy)
	if s.Timeout != "" {
		fmt.Fprintf(&b, "options:\n  timeout: %s\nheaders:\n  X-Env: bench\n", s.Timeout)
	}
	b.WriteString("routes:\n")
	if s.Routes == 0 {
		b.WriteString("  []\n")
	}
	for i := range s.Routes {
		name, host, backend := routeName(i), routeHost(i), defaultBackend(i)
		if n, ok := s.Renamed[i]; ok {
			name, host = n, n+".bench.test"
		}
		if be, ok := s.Backend[i]; ok {
			backend = be
		}
		fmt.Fprintf(&b, "  - name: %s\n    domains: [%s]\n    path: /\n    backend: %s\n", name, host, backend)
		if s.HealthEvery > 0 && i%s.HealthEvery == 0 {
			b.WriteString("    health_check: {path: /healthz, interval: 10s, timeout: 2s}\n")
		}
	}
	switch s.Maintenance {
	case "":
	case "all":
		b.WriteString("maintenance:\n  enabled: true\n")
	default:
		fmt.Fprintf(&b, "maintenance:\n  enabled: true\n  targets: [%s]\n", s.Maintenance)
	}
	b.WriteString(s.Extra)
	return b.String()
}

// writeFile replaces path the way editors and ConfigMaps do: a new file in
// the same directory renamed over it. The temporary name is one the agent's
// watcher ignores.
func writeFile(tb testing.TB, path, text string) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), "tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// startSim starts a registrysim on 127.0.0.1 with the real server's
// defaults, closed when tb ends.
func startSim(tb testing.TB) *registrysim.Server {
	tb.Helper()
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sim.Close() })
	return sim
}

// loopbackIP is the IP source of in-process agents: ${SELF_IP}
// is never used by the generated files, but detection must not depend on
// the host's interfaces.
func loopbackIP() (net.IP, error) { return net.IPv4(127, 0, 0, 1), nil }

// percentile returns the p-th percentile (0..100) of ds by the nearest-rank
// method; ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(p/100*float64(len(ds))+0.999999) - 1
	return ds[min(max(rank, 0), len(ds)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// countingDialer dials TCP and counts the Write calls (wire writes) and
// bytes of every connection it made: a batch the client sends as one write
// shows as one, whatever the reconciler believes. While tracing, it also
// records the command names of each write.
type countingDialer struct {
	writes, bytes atomic.Int64
	tracing       atomic.Bool

	mu    sync.Mutex
	trace []string // one entry per write: "[ROUTE_REMOVE CONFIG_APPLY]"
}

// startTrace forgets the recorded writes and records from now on.
func (d *countingDialer) startTrace() {
	d.mu.Lock()
	d.trace = nil
	d.mu.Unlock()
	d.tracing.Store(true)
}

// stopTrace stops recording and returns the writes recorded, in order,
// each with its command names (a run of one name is shown as NAME×n).
func (d *countingDialer) stopTrace() string {
	d.tracing.Store(false)
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.trace, " ")
}

func (d *countingDialer) record(p []byte) {
	var names []string
	run := 0
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		name, _, _ := strings.Cut(l, "|")
		if len(names) > 0 && strings.TrimSuffix(names[len(names)-1], fmt.Sprintf("×%d", run)) == name {
			run++
			names[len(names)-1] = fmt.Sprintf("%s×%d", name, run)
			continue
		}
		names, run = append(names, name), 1
	}
	d.mu.Lock()
	d.trace = append(d.trace, "["+strings.Join(names, " ")+"]")
	d.mu.Unlock()
}

func (d *countingDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.d.writes.Add(1)
	c.d.bytes.Add(int64(len(p)))
	if c.d.tracing.Load() {
		c.d.record(p)
	}
	return c.Conn.Write(p)
}

// commandNames counts lines by command name ("ROUTE_ADD", ...).
func commandNames(lines []string) map[string]int {
	out := make(map[string]int)
	for _, l := range lines {
		name, _, _ := strings.Cut(l, "|")
		out[name]++
	}
	return out
}

// formatCounts renders a name→count map sorted by name: "A=1 B=2".
func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
