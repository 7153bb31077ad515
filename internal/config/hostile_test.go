package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// allocated returns the bytes fn allocates on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// aliasBomb is a file with one long "$$"-scalar and n aliases of it: a few
// hundred KB of text that stands for n times the scalar.
func aliasBomb(scalar, n int) string {
	return "proxy:\n  address: registry:9000\nservice:\n  name: shop\n  metadata:\n    k: &s \"$$" +
		strings.Repeat("a", scalar) + "\"\nroutes: []\nmaintenance:\n  targets: [" +
		strings.TrimSuffix(strings.Repeat("*s,", n), ",") + "]\n"
}

// TestAliasBombOfBytes: the alias budget counts the bytes an alias stands
// for, so a file of a few hundred KB cannot expand to gigabytes. The file
// here stands for 200 MB; the full-size case (20,000 aliases, 2 GB) only
// multiplies what the old node budget let through.
func TestAliasBombOfBytes(t *testing.T) {
	doc := aliasBomb(100_000, 2_000)
	var err error
	got := allocated(func() { _, err = Parse(strings.NewReader(doc), testOptions()) })
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "expand the document too much") {
		t.Fatalf("err=%v, want the expansion refused", err)
	}
	if limit := uint64(16 << 20); got > limit {
		t.Errorf("Parse of a %d KB alias bomb allocated %d MB, want under %d MB", len(doc)>>10, got>>20, limit>>20)
	}
}

// TestInterpolationBounded: a variable cannot make a value grow past the
// budget either.
func TestInterpolationBounded(t *testing.T) {
	huge := strings.Repeat("x", 3<<20)
	opts := testOptions()
	opts.Lookup = func(name string) (string, bool) {
		if name == "HUGE" {
			return huge, true
		}
		return testLookup(name)
	}
	_, err := Parse(strings.NewReader(minimal+"headers: {X-A: \"${HUGE}\"}\n"), opts)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "variable HUGE makes the value too long") {
		t.Fatalf("err=%v, want the variable refused", err)
	}
}

// TestHonestAliasesStillWork: aliases that repeat a mapping a few times
// stay well inside the budget.
func TestHonestAliasesStillWork(t *testing.T) {
	var b strings.Builder
	b.WriteString("proxy:\n  address: registry:9000\nservice:\n  name: shop\nroutes:\n")
	for i := range 200 {
		hc := "*hc"
		if i == 0 {
			hc = "&hc {path: /healthz, interval: 10s, timeout: 2s}"
		}
		b.WriteString("  - {name: r" + strconv.Itoa(i) + ", domains: [r" + strconv.Itoa(i) + ".example.com], path: /, backend: \"http://${SELF_IP}:3000\", health_check: " + hc + "}\n")
	}
	cfg := mustParse(t, b.String())
	if got := cfg.Routes[199].HealthCheck; got == nil || got.Path != "/healthz" {
		t.Fatalf("health check of the last route %+v", got)
	}
}

// invalidRoutes is a file of n routes whose every entry is wrong: n decode
// failures plus four missing fields each.
func invalidRoutes(n int) []byte {
	return []byte("proxy:\n  address: registry:9000\nservice:\n  name: shop\nroutes:\n" + strings.Repeat("  - {priority: x}\n", n))
}

// TestManyErrorsLinearWork: checking whether an error falls inside a value
// the decoder rejected must not scan every earlier failure; the lookups
// grow with the number of errors, not with its square.
func TestManyErrorsLinearWork(t *testing.T) {
	// Parallel: it measures no allocation. The tests that do run before the
	// parallel ones, alone.
	t.Parallel()
	lookups := func(n int) int {
		doc, err := parseYAML(invalidRoutes(n), "registry.yaml")
		if err != nil {
			t.Fatal(err)
		}
		p := NewParser().newRun(doc, "registry.yaml", testLookup, expansionBudget(n*20))
		cfg := defaultConfig("h")
		p.decode(doc, reflect.ValueOf(cfg).Elem(), nil)
		p.validate(cfg)
		p.validateSemantics(cfg)
		if len(p.errs) != 5*n {
			t.Fatalf("%d routes gave %d errors, want %d", n, len(p.errs), 5*n)
		}
		return p.lookups
	}
	// Lookups are counted, not timed: a few thousand errors show a square
	// as well as many.
	small, large := lookups(500), lookups(4_000)
	// Each lookup walks the prefixes of one path: a constant per error.
	if perError := large / (5 * 4_000); perError > 8 {
		t.Errorf("%d lookups for %d errors (%d each)", large, 5*4_000, perError)
	}
	if ratio := float64(large) / float64(small); ratio > 8*1.2 {
		t.Errorf("8× the errors took %.1f× the lookups, want about 8×", ratio)
	}
}

// BenchmarkParseManyErrors: a file of 10,000 invalid routes (50,000
// errors) is refused in linear time.
func BenchmarkParseManyErrors(b *testing.B) {
	data := invalidRoutes(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), testOptions()); err == nil {
			b.Fatal("accepted")
		}
	}
}

// TestHarmfulValuesRefused: durations too short to be useful, ports out of
// range wherever a port is written, and paths that can never match.
func TestHarmfulValuesRefused(t *testing.T) {
	route := func(path, backend, hc string) string {
		return "proxy:\n  address: registry:9000\nservice:\n  name: shop\nroutes:\n  - name: web\n    domains: [shop.example.com]\n    path: " +
			path + "\n    backend: " + backend + "\n" + hc
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"keepalive interval", withProxy("  address: r:1\n  keepalive_interval: 1ns\n"),
			"registry.yaml:3:23: proxy.keepalive_interval: must be at least 100ms (got 1ns)"},
		{"keepalive timeout", withProxy("  address: r:1\n  keepalive_timeout: 10ms\n"),
			"registry.yaml:3:22: proxy.keepalive_timeout: must be at least 100ms (got 10ms)"},
		{"backoff initial", withProxy("  address: r:1\n  backoff: {initial: 1ns, max: 1s}\n"),
			"registry.yaml:3:22: proxy.backoff.initial: must be at least 10ms (got 1ns)"},
		{"backoff max", withProxy("  address: r:1\n  backoff: {initial: 10ms, max: 20ms}\n"),
			"registry.yaml:3:33: proxy.backoff.max: must be at least 50ms (got 20ms)"},
		{"debounce", minimal + "reload: {debounce: 1ns}\n",
			"registry.yaml:10:20: reload.debounce: must be at least 1ms (got 1ns)"},
		{"backend port", route("/", "http://10.0.0.1:99999", ""),
			`registry.yaml:9:14: routes[0].backend: "http://10.0.0.1:99999" has port "99999"; want a number from 1 to 65535`},
		{"backend port 0", route("/", "http://10.0.0.1:0/x", ""),
			`registry.yaml:9:14: routes[0].backend: "http://10.0.0.1:0/x" has port "0"; want a number from 1 to 65535`},
		{"backend empty port", route("/", "\"http://10.0.0.1:\"", ""),
			`registry.yaml:9:14: routes[0].backend: "http://10.0.0.1:" has an empty port; want a number from 1 to 65535`},
		{"page port", minimal + "maintenance: {page: \"http://[::1]:70000/\"}\n",
			`registry.yaml:10:21: maintenance.page: "http://[::1]:70000/" has port "70000"; want a number from 1 to 65535`},
		{"proxy address port", withProxy("  address: r:65536\n"),
			`registry.yaml:2:12: proxy.address: "r:65536" has port "65536"; want a number from 1 to 65535`},
		{"status address port", minimal + "status: {address: \":99999\"}\n",
			`registry.yaml:10:19: status.address: ":99999" has port "99999"; want a number from 1 to 65535`},
		{"path with query", route("/a?b=1", "http://h:1", ""),
			`registry.yaml:8:11: routes[0].path: "/a?b=1" contains a query ("?"); a request path never does, so it could never match`},
		{"path with fragment", route("/a#top", "http://h:1", ""),
			`registry.yaml:8:11: routes[0].path: "/a#top" contains a fragment ("#"); a request path never does, so it could never match`},
		{"health path with query", route("/", "http://h:1", "    health_check: {path: \"/h?x\", interval: 10s, timeout: 1s}\n"),
			`registry.yaml:10:26: routes[0].health_check.path: "/h?x" contains a query ("?"); a request path never does, so it could never match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrors(t, tt.doc)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
	// The floors themselves are accepted.
	mustParse(t, withProxy("  address: r:65535\n  keepalive_interval: 100ms\n  keepalive_timeout: 100ms\n  backoff: {initial: 10ms, max: 50ms}\n")+
		"reload: {debounce: 1ms}\n")
}

// clientReplyCap is the client's limit on one reply line (maxReplyLine in
// internal/client, which this package may not import).
const clientReplyCap = 16 << 20

// longDomainRoutes is a valid-looking file of n routes with 100 domains of
// about 240 bytes each.
func longDomainRoutes(n int) string {
	var b strings.Builder
	b.WriteString("proxy: {address: registry:9000}\nservice: {name: shop}\nroutes:\n")
	label := strings.Repeat("x", 60)
	for r := range n {
		b.WriteString("  - name: r" + strconv.Itoa(r) + "\n    path: /\n    backend: http://10.0.0.1:3000\n    domains:\n")
		for d := range 100 {
			b.WriteString("      - d" + strconv.Itoa(d) + "-r" + strconv.Itoa(r) + "." + label + "." + label + "." + label + ".example.com\n")
		}
	}
	return b.String()
}

// TestRouteListFitsReplyCap: a file whose routes would make a ROUTE_LIST
// reply the client refuses is refused, at the route that crosses the
// budget; the largest file accepted lists, each route twice as during an
// update, in half the client's cap.
func TestRouteListFitsReplyCap(t *testing.T) {
	// Parallel: it measures no allocation. The tests that do run before the
	// parallel ones, alone.
	t.Parallel()
	if 2*maxRouteListBytes > clientReplyCap/2 {
		t.Fatalf("budget %d MiB, twice over, is more than half the %d MiB reply cap", maxRouteListBytes>>20, clientReplyCap>>20)
	}
	// Each of these files is megabytes of YAML: parse the refused one once.
	_, err := Parse(strings.NewReader(longDomainRoutes(250)), testOptions())
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("Parse error %.300v, want one Error", err)
	}
	if msg := es[0].Error(); !strings.Contains(msg, "add up to more than 4 MiB as the registry lists them") ||
		!strings.HasPrefix(msg, "registry.yaml:") || !strings.Contains(msg, ": routes[") {
		t.Fatalf("error=%.300q, want the route list refused at a route", msg)
	}
	// The route named in the error is the first one over: one fewer passes.
	over, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(es[0].Path, "routes["), "]"))
	cfg := mustParse(t, longDomainRoutes(over))

	type entry struct {
		ID       string   `json:"route_id"`
		Domains  []string `json:"domains"`
		Path     string   `json:"path"`
		Backend  string   `json:"backend"`
		Priority int      `json:"priority"`
		Status   string   `json:"status"`
	}
	var list []entry
	for i, r := range cfg.Routes {
		for _, status := range []string{"active", "staged"} {
			list = append(list, entry{"r" + strconv.Itoa(1_000_000_000+i), r.Domains, r.Path, r.Backend, r.Priority, status})
		}
	}
	reply, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if n := len("ROUTE_LIST_OK|") + len(reply); n > clientReplyCap/2 {
		t.Errorf("an accepted file lists in %d bytes, over half the %d MiB cap", n, clientReplyCap>>20)
	}
}

// TestOptionValueBounded: a duration padded with zeros still parses, so
// an option value has a length limit of its own (OPTIONS_SET must fit a
// line).
func TestOptionValueBounded(t *testing.T) {
	errs := parseErrors(t, minimal+"options: {timeout: \""+strings.Repeat("0", 70_000)+"1s\"}\n")
	if len(errs) != 1 || !strings.Contains(errs[0], "options.timeout:") || !strings.Contains(errs[0], "the limit is 64") {
		t.Fatalf("errors=%.200q", errs)
	}
}

// TestNodeCountBounded: 32 MiB of tiny values would be millions of yaml.v3
// nodes (over 2 GB); such a file is refused before it is parsed.
func TestNodeCountBounded(t *testing.T) {
	doc := "proxy: {address: r:1}\nservice: {name: s}\nroutes: []\nx: [" + strings.Repeat("a,", 600_000) + "a]\n"
	var err error
	got := allocated(func() { _, err = Parse(strings.NewReader(doc), testOptions()) })
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || !errors.Is(err, ErrTooLong) || es[0].Line != 4 || es[0].Col == 0 ||
		!strings.Contains(es[0].Msg, "more than 1000000 YAML values") {
		t.Fatalf("err=%v, want the file refused with a position", err)
	}
	if limit := uint64(16 << 20); got > limit { // yaml.v3 would take about 90 MB
		t.Errorf("refusing %d KB allocated %d KB", len(doc)>>10, got>>10)
	}
}

// TestRouteCountBounded: more routes than can fit the route list are
// refused at once, not with five errors for each of them.
func TestRouteCountBounded(t *testing.T) {
	// Parallel: it measures no allocation. The tests that do run before the
	// parallel ones, alone.
	t.Parallel()
	errs := parseErrors(t, string(invalidRoutes(40_000)))
	want := "registry.yaml:" + strconv.Itoa(6+maxRoutes()) + ":5: routes[" + strconv.Itoa(maxRoutes()) +
		"]: the file lists 40000 routes; at most " + strconv.Itoa(maxRoutes()) + " fit the registry's route list (see the route list limit)"
	if len(errs) != 1 || errs[0] != want {
		t.Fatalf("errors=%.300q, want %q", errs, want)
	}
	if maxRoutes() < 30_000 {
		t.Errorf("maxRoutes=%d: fewer than a large honest file needs", maxRoutes())
	}
}

// countNodes counts the nodes of a yaml.v3 tree, aliases as one.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// TestNodeStartsIsAnUpperBound: the estimate is never below the nodes
// yaml.v3 builds, for the fixtures and a few shapes.
func TestNodeStartsIsAnUpperBound(t *testing.T) {
	docs := []string{minimal, string(routesFile(100)), "a: [a,b,{c: d},[e]]\n", "- a\n- - b\n  - c\n- {x}\n", "a:\nb: &x [1]\nc: *x\n", "? a\n: b\n", "a: !!str 1\n"}
	files, _ := filepath.Glob("testdata/*/*/registry.yaml")
	for _, f := range append(files, "../../examples/registry.yaml") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(data))
	}
	for _, d := range docs {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(d), &n); err != nil {
			continue
		}
		if got, nodes := countNodeStarts(d), countNodes(&n); got < nodes {
			t.Errorf("estimate %d < %d nodes for %.80q", got, nodes, d)
		}
	}
}

func countNodeStarts(s string) int {
	n, _ := nodeStarts([]byte(s), 1<<30)
	return n
}
