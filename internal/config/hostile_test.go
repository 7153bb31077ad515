package config

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
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
