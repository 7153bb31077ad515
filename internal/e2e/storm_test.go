package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"regagent/internal/agent"
)

// stormWriter replaces the config file's content one way.
type stormWriter struct {
	name string
	// prepare lays out dir and returns the config path the agent reads.
	prepare func(tb testing.TB, dir, content string) string
	write   func(tb testing.TB, dir, path, content string, i int)
}

var stormWriters = []stormWriter{
	{
		name: "in_place",
		prepare: func(tb testing.TB, dir, content string) string {
			path := filepath.Join(dir, "registry.yaml")
			writeFile(tb, path, content)
			return path
		},
		write: func(tb testing.TB, _, path, content string, _ int) {
			// Truncate and write: the watcher may read a half-written
			// file, which must count as invalid and change nothing.
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		},
	},
	{
		name: "rename_over",
		prepare: func(tb testing.TB, dir, content string) string {
			path := filepath.Join(dir, "registry.yaml")
			writeFile(tb, path, content)
			return path
		},
		write: func(tb testing.TB, _, path, content string, _ int) { writeFile(tb, path, content) },
	},
	{
		// A Kubernetes ConfigMap volume: registry.yaml -> ..data/registry.yaml,
		// ..data -> ..<timestamp>/, and an update swaps the ..data symlink.
		name: "configmap_symlink_swap",
		prepare: func(tb testing.TB, dir, content string) string {
			k8sVersion(tb, dir, content, 0)
			path := filepath.Join(dir, "registry.yaml")
			if err := os.Symlink(filepath.Join("..data", "registry.yaml"), path); err != nil {
				tb.Fatal(err)
			}
			return path
		},
		write: func(tb testing.TB, dir, _, content string, i int) { k8sVersion(tb, dir, content, i+1) },
	},
}

// k8sVersion publishes content as version n the way the kubelet does: a
// new timestamped directory, a temporary symlink renamed over ..data, the
// previous directory removed.
func k8sVersion(tb testing.TB, dir, content string, n int) {
	tb.Helper()
	ts := fmt.Sprintf("..2026_01_01_00_00_00.%04d", n)
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ts, "registry.yaml"), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		tb.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			tb.Fatal(err)
		}
	}
}

// stormFile is content number i: the web route's backend changes every
// time, and 0 to 2 extra routes come and go.
func stormFile(i int) (string, []route) {
	routes := []route{{name: "web", domains: []string{"a.example.com"}, path: "/", backend: fmt.Sprintf("http://v%d.web:3000", i)}}
	for j := range i % 3 {
		routes = append(routes, route{name: fmt.Sprintf("n%d", j), domains: []string{fmt.Sprintf("n%d.example.com", j)},
			path: "/", backend: fmt.Sprintf("http://n%d:3000", j)})
	}
	// The default debounce (100ms): coalescing is what is under test.
	return file{proxy: []string{"keepalive_interval: 1s"}, routes: routes, debounce: "100ms"}.render(), routes
}

// Scenario 5: 200 writes of different valid contents within 2 s, by
// in-place write, by rename over the file and by a ConfigMap ..data
// symlink swap. The final routing equals the last file, and the debounce
// coalesces the burst into far fewer applies than writes.
func TestEditStorm(t *testing.T) {
	t.Parallel()
	for _, w := range stormWriters {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			const writes = 200
			dir := t.TempDir()
			first, firstRoutes := stormFile(0)
			r := startRun(t, "", setup{path: w.prepare(t, dir, first)})
			r.firstApply(firstRoutes)
			m := r.events.mark()

			tick := time.NewTicker(2 * time.Second / writes)
			defer tick.Stop()
			start := time.Now()
			var last string
			var lastRoutes []route
			for i := 1; i <= writes; i++ {
				<-tick.C
				last, lastRoutes = stormFile(i)
				w.write(t, dir, r.path, last, i)
			}
			burst := time.Since(start)
			r.until("routing equals the last file", func() error {
				if err := servedLive(r.sim, lastRoutes); err != nil {
					return err
				}
				return exactTable(r.sim, lastRoutes)
			})
			sum := sha256.Sum256([]byte(last))
			r.until("status shows the last file applied", func() error {
				s := r.snapshot()
				if s.ConfigHash != hex.EncodeToString(sum[:]) || !s.ConfigValid || !s.Ready {
					return fmt.Errorf("status hash=%s valid=%v ready=%v", s.ConfigHash, s.ConfigValid, s.Ready)
				}
				return nil
			})
			// The state is published before CONFIG_APPLIED is emitted (so
			// that readiness never lags the event): wait for the event too.
			r.until("the apply was reported", func() error {
				if r.events.count(m, isType(agent.EventConfigApplied)) == 0 {
					return fmt.Errorf("no CONFIG_APPLIED yet")
				}
				return nil
			})
			applies := r.events.count(m, isType(agent.EventConfigApplied))
			validated := r.events.count(m, isType(agent.EventConfigValidated))
			invalid := r.events.count(m, isType(agent.EventConfigInvalid))
			t.Logf("e2e: edit_storm method=%s writes=%d burst_ms=%.0f validated=%d invalid=%d applies=%d",
				w.name, writes, ms(burst), validated, invalid, applies)
			if applies == 0 || applies >= writes/2 {
				t.Errorf("%d applies for %d writes: the debounce should coalesce them", applies, writes)
			}
		})
	}
}
