package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// version returns a valid document that differs for every n.
func version(n int) string {
	return fmt.Sprintf("# version %d\n", n) + minimal
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type watchRun struct {
	updates chan Update
}

// startWatch runs Watch on path until the test ends; updates arrive on a
// channel.
func startWatch(t *testing.T, path string, opts WatchOptions) *watchRun {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = 20 * time.Millisecond
	}
	if opts.Parse.Lookup == nil {
		opts.Parse = testOptions()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchRun{updates: make(chan Update, 1000)}
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, opts, func(u Update) {
			select {
			case w.updates <- u:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	})
	return w
}

// await returns the first update with the hash of content, failing the test
// if it does not come. Updates before it are returned too.
func (w *watchRun) await(t *testing.T, content string) (Update, []Update) {
	t.Helper()
	want := hashOf(content)
	var before []Update
	deadline := time.After(10 * time.Second) // a failure bound, not synchronization
	for {
		select {
		case u := <-w.updates:
			if u.Hash == want {
				return u, before
			}
			before = append(before, u)
		case <-deadline:
			t.Fatalf("no update with hash %.8s; got %d others", want, len(before))
		}
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeAtomic replaces path by rename, so no reader sees a partial file.
func writeAtomic(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchInPlaceWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(1))
	w := startWatch(t, path, WatchOptions{})
	u, _ := w.await(t, version(1))
	if u.Err != nil || u.Config == nil || u.Routes != 1 || u.Event() != EventValidated || u.Config.Hash != u.Hash {
		t.Fatalf("initial update %+v", u)
	}
	write(t, path, version(2))
	w.await(t, version(2))
}

func TestWatchRenameOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write(t, path, version(1))
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(1))
	tmp := filepath.Join(dir, ".registry.yaml.swp")
	write(t, tmp, version(2))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	w.await(t, version(2))
}

func TestWatchDeleteAndRecreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(1))
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(1))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, path, version(2))
	_, before := w.await(t, version(2))
	for _, u := range before { // at most "missing", reported as an error
		if !errors.Is(u.Err, os.ErrNotExist) {
			t.Errorf("unexpected update %+v", u)
		}
	}
}

// TestWatchKubernetesSwap replays what the kubelet does to a ConfigMap
// volume: the file is a symlink into "..data", itself a symlink to a
// timestamped directory; an update writes a new directory, points a
// "..data_tmp" symlink at it, renames that over "..data" and removes the old
// directory.
func TestWatchKubernetesSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(stamp, content string) {
		ts := filepath.Join(dir, stamp)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "registry.yaml"), content)
		if err := os.Symlink(stamp, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..2026_11_26_10_00_00.000000001", version(1))
	path := filepath.Join(dir, "registry.yaml")
	if err := os.Symlink(filepath.Join("..data", "registry.yaml"), path); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(1))

	publish("..2026_11_26_10_05_00.000000002", version(2))
	if err := os.RemoveAll(filepath.Join(dir, "..2026_11_26_10_00_00.000000001")); err != nil {
		t.Fatal(err)
	}
	w.await(t, version(2))
	publish("..2026_11_26_10_10_00.000000003", version(3))
	w.await(t, version(3))
}

func TestWatchSymlinkElsewhere(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real.yaml")
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, real, version(1))
	if err := os.Symlink(real, path); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(1))
	write(t, real, version(2)) // no event in the link's directory
	w.await(t, version(2))
}

func TestWatchBurstFinalContentWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(0))
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(0))
	for i := 1; i <= 100; i++ {
		write(t, path, version(i))
	}
	u, _ := w.await(t, version(100))
	if u.Config == nil || u.Err != nil {
		t.Fatalf("final update %+v", u)
	}
	// Nothing older may follow the final content: write a marker and check
	// that it is the next thing delivered.
	writeAtomic(t, path, version(101))
	if _, before := w.await(t, version(101)); len(before) != 0 {
		t.Errorf("%d updates after the final content of the burst", len(before))
	}
}

func TestWatchInvalidThenValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(1))
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(1))
	bad := minimal + "bogus: true\n"
	write(t, path, bad)
	u, _ := w.await(t, bad)
	var es Errors
	if u.Config != nil || !errors.As(u.Err, &es) || !errors.Is(u.Err, ErrUnknownKey) || u.Event() != EventInvalid {
		t.Fatalf("invalid update %+v", u)
	}
	write(t, path, "") // briefly empty, as during some saves
	write(t, path, version(2))
	if u, _ := w.await(t, version(2)); u.Config == nil {
		t.Fatalf("valid update %+v", u)
	}
}

func TestWatchSkipsUnchangedContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(1))
	w := startWatch(t, path, WatchOptions{Hash: hashOf(version(1))})
	// Rewrite the same bytes without truncating: an event, no new content.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(version(1)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, path, version(2))
	if _, before := w.await(t, version(2)); len(before) != 0 {
		t.Errorf("delivered %d updates for unchanged content", len(before))
	}
}

func TestWatchPollWithoutEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write(t, path, version(1))
	// A write through a hard link in another directory raises no event in
	// the watched one, like a change made by another host on a network
	// file system: only the poll can see it.
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, path, WatchOptions{PollInterval: 10 * time.Millisecond})
	w.await(t, version(1))
	write(t, link, version(2))
	w.await(t, version(2))
}

func TestWatchMissingDirectory(t *testing.T) {
	err := Watch(context.Background(), filepath.Join(t.TempDir(), "nope", "registry.yaml"), WatchOptions{}, func(Update) {})
	if err == nil {
		t.Fatal("Watch of a missing directory returned nil")
	}
}

// TestWatchReloadRedelivers: a Reload delivers the unchanged file again,
// parsed with the variables as they are now (an address change).
func TestWatchReloadRedelivers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	body := strings.Replace(minimal, "http://10.0.0.1:3000", "http://${SELF_IP}:3000", 1)
	write(t, path, body)
	var ip atomic.Value
	ip.Store("10.0.0.1")
	reload := make(chan struct{})
	opts := WatchOptions{Reload: reload, Parse: ParseOptions{Filename: "registry.yaml", Hostname: "h",
		Lookup: func(name string) (string, bool) {
			if name == "SELF_IP" {
				return ip.Load().(string), true
			}
			return "", false
		}}}
	w := startWatch(t, path, opts)
	u, _ := w.await(t, body)
	if got := u.Config.Routes[0].Backend; got != "http://10.0.0.1:3000" {
		t.Fatalf("first delivery backend %q", got)
	}
	ip.Store("10.0.0.2")
	reload <- struct{}{}
	u, _ = w.await(t, body)
	if got := u.Config.Routes[0].Backend; got != "http://10.0.0.2:3000" {
		t.Fatalf("backend after Reload %q, want the new address", got)
	}
}

// TestWatcherHoldsBackAnInvalidContentOnce: a save in progress can show a
// half-written file; it is reported only if it is still there at a second
// look, and a Reload reports at once.
func TestWatcherHoldsBackAnInvalidContentOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	var got []Update
	w := &watcher{path: path, parser: NewParser(), opts: WatchOptions{Parse: testOptions()}, fn: func(u Update) { got = append(got, u) },
		dirs: map[string]bool{}}

	write(t, path, version(1)[:len(version(1))-20]) // cut mid-route
	w.check(context.Background())
	if len(got) != 0 || !w.recheck {
		t.Fatalf("a first look at an invalid content delivered %d updates (recheck %v)", len(got), w.recheck)
	}
	w.recheck = false
	write(t, path, version(1)) // the save completes
	w.check(context.Background())
	if len(got) != 1 || got[0].Err != nil || got[0].Hash != hashOf(version(1)) {
		t.Fatalf("after the save completed: %+v", got)
	}

	write(t, path, "routes: [")
	w.check(context.Background())
	w.check(context.Background()) // still there at the second look
	if len(got) != 2 || got[1].Err == nil {
		t.Fatalf("an invalid content that stays was not reported: %+v", got)
	}

	write(t, path, "routes: {")
	w.force = true
	w.check(context.Background())
	if len(got) != 3 || got[2].Err == nil {
		t.Fatalf("a forced reload did not report the invalid content at once: %+v", got)
	}
}
