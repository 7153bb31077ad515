package benchsuite

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// The tests below check the suite's own helpers and take milliseconds; the
// measurements are benchmarks and run only with -bench.

func TestFileSpecParses(t *testing.T) {
	for name, spec := range map[string]fileSpec{
		"empty":       {},
		"plain":       {Routes: 3},
		"cost base":   costBase(),
		"sync":        syncSpec(),
		"maintenance": {Routes: 3, Maintenance: routeName(1)},
		"all":         {Routes: 3, Maintenance: "all", Renamed: map[int]string{2: "new-1"}},
	} {
		cfg := parseSpec(t, spec)
		if len(cfg.Routes) != spec.Routes {
			t.Errorf("%s: routes=%d, want %d", name, len(cfg.Routes), spec.Routes)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("percentile(%v)=%v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil)=%v, want 0", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as /proc allows.
	stat := []byte("4242 (reg agent) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 7 0 123 456 789")
	got, err := parseStatCPU(stat)
	if err != nil || got != 22 {
		t.Fatalf("parseStatCPU=%v, %v; want 22", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("parseStatCPU(garbage): no error")
	}
}

func TestReadProcSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKB <= 0 || s.HWMKB < s.RSSKB || s.Threads < 1 || s.Voluntary+s.Invol <= 0 {
		t.Fatalf("implausible sample %+v", s)
	}
}

// TestSequentialSync checks that the one-command-per-round-trip baseline
// really makes its routes live, with health checks.
func TestSequentialSync(t *testing.T) {
	const n = 20
	l := newLink(t, 0)
	defer l.stop()
	if _, err := sequentialSync(l.addr, n); err != nil {
		t.Fatal(err)
	}
	checkSynced(t, l.sim, n)
}
