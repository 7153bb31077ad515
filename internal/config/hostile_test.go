package config

import (
	"bytes"
	"errors"
	"reflect"
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

// invalidRoutes is a file of n routes whose every entry is wrong: n decode
// failures plus four missing fields each.
func invalidRoutes(n int) []byte {
	return []byte("proxy:\n  address: registry:9000\nservice:\n  name: shop\nroutes:\n" + strings.Repeat("  - {priority: x}\n", n))
}

// TestManyErrorsLinearWork: checking whether an error falls inside a value
// the decoder rejected must not scan every earlier failure; the lookups
// grow with the number of errors, not with its square.
func TestManyErrorsLinearWork(t *testing.T) {
	lookups := func(n int) int {
		doc, err := parseYAML(invalidRoutes(n), "registry.yaml")
		if err != nil {
			t.Fatal(err)
		}
		p := &parser{decoder: newDecoder("registry.yaml", testLookup, expansionBudget(n*20)), doc: doc}
		cfg := defaultConfig("h")
		p.decode(doc, reflect.ValueOf(cfg).Elem(), nil)
		p.validateStruct(cfg)
		p.validateSemantics(cfg)
		if len(p.errs) != 5*n {
			t.Fatalf("%d routes gave %d errors, want %d", n, len(p.errs), 5*n)
		}
		return p.lookups
	}
	small, large := lookups(1_000), lookups(8_000)
	// Each lookup walks the prefixes of one path: a constant per error.
	if perError := large / (5 * 8_000); perError > 8 {
		t.Errorf("%d lookups for %d errors (%d each)", large, 5*8_000, perError)
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
