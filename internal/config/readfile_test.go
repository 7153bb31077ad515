package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostilePaths are the things a config path can be replaced by that must
// be refused without blocking or reading them whole, with a word of the
// message that must name what was found.
func hostilePaths(t *testing.T) []struct{ name, path, want string } {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.yaml")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 2*maxFileSize); err != nil { // a hole: no disk used
		t.Fatal(err)
	}
	return []struct{ name, path, want string }{
		{"fifo", fifo, "is a named pipe (FIFO); the config must be a regular file"},
		{"symlink to /dev/zero", zero, "is a character device; the config must be a regular file"},
		{"directory", sub, "is a directory; the config must be a regular file"},
		{"sparse 64 MiB", sparse, "the file is larger than 32 MiB"},
	}
}

// TestLoadRefusesWhatIsNotASmallRegularFile: Load neither blocks on a FIFO
// nor reads a device or a huge file.
func TestLoadRefusesWhatIsNotASmallRegularFile(t *testing.T) {
	for _, tt := range hostilePaths(t) {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				err   error
				alloc uint64
			}
			done := make(chan result, 1)
			go func() {
				var err error
				alloc := allocated(func() { _, err = Load(tt.path, testOptions()) })
				done <- result{err, alloc}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second): // a failure bound, not synchronization
				t.Fatal("Load blocked")
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("err=%v, want %q", r.err, tt.want)
			}
			if !errors.Is(r.err, ErrNotRegular) && !errors.Is(r.err, ErrTooLong) {
				t.Errorf("err=%v is neither ErrNotRegular nor ErrTooLong", r.err)
			}
			if r.alloc > 1<<20 {
				t.Errorf("Load allocated %d KB to refuse it", r.alloc>>10)
			}
		})
	}
}

// TestWatchSurvivesHostileReplacements: the watched path replaced by a
// FIFO, a device, a directory or a huge sparse file is reported as an
// error naming it, and the watcher goes on: the next valid save is
// delivered, and Watch returns when its context ends.
func TestWatchSurvivesHostileReplacements(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write(t, path, version(0))
	w := startWatch(t, path, WatchOptions{})
	w.await(t, version(0))
	for i, tt := range hostilePaths(t) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tt.path, path); err != nil {
			t.Fatal(err)
		}
		awaitError(t, w, tt.want)
		if err := os.RemoveAll(path); err != nil {
			t.Fatal(err)
		}
		writeAtomic(t, path, version(i+1))
		if u, _ := w.await(t, version(i+1)); u.Config == nil {
			t.Fatalf("after %s: %+v", tt.name, u)
		}
	}
}

// awaitError waits for an update whose error contains want.
func awaitError(t *testing.T, w *watchRun, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second) // a failure bound, not synchronization
	for {
		select {
		case u := <-w.updates:
			if u.Err != nil && strings.Contains(u.Err.Error(), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no update with an error containing %q", want)
		}
	}
}
