package config

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// An hour of debounce: whatever is delivered while the test runs was read
// at once, not after the debounce.
const never = time.Hour

func TestWatchRenameSaveNeedsNoDebounce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write(t, path, version(0))
	clock := newFakeClock()
	w := startWatch(t, path, WatchOptions{Debounce: never, clock: clock.now})
	w.await(t, version(0))
	for i := 1; i <= 3; i++ {
		clock.advance(never) // each save on its own, not a burst
		tmp := filepath.Join(dir, ".registry.yaml.tmp")
		write(t, tmp, version(i))
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		if _, before := w.await(t, version(i)); len(before) != 0 {
			t.Errorf("save %d: %d updates before it", i, len(before))
		}
	}
}

// TestWatchInPlaceWriteIsDebounced: a write in place may be half done, so
// it waits for the debounce; a rename save that follows is delivered, and
// the in-place content never was.
func TestWatchInPlaceWriteIsDebounced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write(t, path, version(0))
	w := startWatch(t, path, WatchOptions{Debounce: never, clock: newFakeClock().now})
	w.await(t, version(0))
	write(t, path, version(1)) // in place: truncate and write
	writeAtomic(t, path, version(2))
	if _, before := w.await(t, version(2)); len(before) != 0 {
		t.Errorf("the in-place write was delivered before the debounce: %d updates", len(before))
	}
}

// TestWatchConfigMapSwapNeedsNoDebounce: the kubelet's "..data" swap is a
// rename too.
func TestWatchConfigMapSwapNeedsNoDebounce(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	publish := func(n int) {
		ts := filepath.Join(dir, "..2026_11_26_10_00_00."+time.Duration(n).String())
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "registry.yaml"), version(n))
		if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(0)
	path := filepath.Join(dir, "registry.yaml")
	if err := os.Symlink(filepath.Join("..data", "registry.yaml"), path); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, path, WatchOptions{Debounce: never, clock: clock.now})
	w.await(t, version(0))
	for i := 1; i <= 3; i++ {
		clock.advance(never)
		publish(i)
		w.await(t, version(i))
	}
}

// TestWatchRenameStormIsCoalesced: of a burst of rename saves only the
// first is read at once; the rest wait for the debounce like writes in
// place, so a storm costs one apply, not one per save. A save after the
// burst is read at once again.
func TestWatchRenameStormIsCoalesced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write(t, path, version(0))
	clock := newFakeClock()
	var seen atomic.Int64
	saw := make(chan struct{}, 1) // a token stays until read: no wake-up is lost
	w := startWatch(t, path, WatchOptions{Debounce: never, clock: clock.now, onAtomic: func() {
		seen.Add(1)
		select {
		case saw <- struct{}{}:
		default:
		}
	}})
	w.await(t, version(0))
	clock.advance(never)
	writeAtomic(t, path, version(1))
	w.await(t, version(1))
	base := seen.Load()
	for i := 2; i <= 50; i++ { // the clock stands still: one burst
		writeAtomic(t, path, version(i))
	}
	// The burst is one only if the watcher saw all of it before the clock
	// moves on.
	for seen.Load() < base+49 {
		select {
		case <-saw:
		case <-time.After(10 * time.Second):
			t.Fatalf("the watcher saw %d of the burst's 49 renames", seen.Load()-base)
		}
	}
	clock.advance(never)
	writeAtomic(t, path, version(51))
	if _, before := w.await(t, version(51)); len(before) != 0 {
		t.Errorf("%d saves of the burst were delivered one by one", len(before))
	}
}

// BenchmarkSaveToDelivery measures the time from a save to the delivery of
// the parsed file, at the default debounce: a rename save is read at once,
// a write in place after the debounce. Each rename save is its own burst
// (the watcher's clock is moved on between saves).
func BenchmarkSaveToDelivery(b *testing.B) {
	for _, mode := range []string{"rename", "in_place"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "registry.yaml")
			write(b, path, version(0))
			clock := newFakeClock()
			ctx, cancel := context.WithCancel(context.Background())
			updates := make(chan Update, 16)
			done := make(chan error, 1)
			go func() {
				done <- Watch(ctx, path, WatchOptions{Parse: testOptions(), clock: clock.now}, func(u Update) {
					select {
					case updates <- u:
					case <-ctx.Done():
					}
				})
			}()
			awaitHash := func(content string) {
				want := hashOf(content)
				for u := range updates {
					if u.Hash == want {
						return
					}
				}
			}
			awaitHash(version(0))
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				content := version(i)
				clock.advance(time.Hour)
				start := time.Now()
				if mode == "rename" {
					writeAtomic(b, path, content)
				} else {
					write(b, path, content)
				}
				awaitHash(content)
				lat = append(lat, time.Since(start))
			}
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10])/float64(time.Millisecond), "p90-ms")
		})
	}
}
