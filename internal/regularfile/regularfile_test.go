package regularfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRefusesWhatIsNotASmallRegularFile: neither Open nor Read blocks on a
// FIFO or reads a device or a huge sparse file; each error says what was
// found and is ErrNotRegular or ErrTooLarge.
func TestRefusesWhatIsNotASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo, zero, sparse := filepath.Join(dir, "fifo"), filepath.Join(dir, "zero"), filepath.Join(dir, "sparse")
	for _, err := range []error{ // in order: the sparse file is a hole, no disk used
		syscall.Mkfifo(fifo, 0o644), os.Symlink("/dev/zero", zero), os.WriteFile(sparse, nil, 0o644), os.Truncate(sparse, 64<<20),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	const limit = 1 << 20
	tests := []struct {
		name, path string
		want       error
		msg        string
	}{
		{"fifo", fifo, ErrNotRegular, fifo + " is not a regular file (p---------)"},
		{"symlink to /dev/zero", zero, ErrNotRegular, zero + " is not a regular file (Dc---------)"},
		{"directory", dir, ErrNotRegular, dir + " is not a regular file (d---------)"},
		{"sparse 64 MiB", sparse, ErrTooLarge, sparse + " is 67108864 bytes; the limit is 1048576"},
	}
	for _, tt := range tests {
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"Open", func() error {
				f, err := Open(tt.path, limit)
				if err == nil {
					f.Close()
				}
				return err
			}},
			{"Read", func() error { _, err := Read(context.Background(), tt.path, limit); return err }},
		} {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- op.do() }()
				var err error
				select {
				case err = <-done:
				case <-time.After(10 * time.Second): // a failure bound, not synchronization
					t.Fatal("blocked")
				}
				if !errors.Is(err, tt.want) || err.Error() != tt.msg {
					t.Fatalf("err=%v, want %q (%v)", err, tt.msg, tt.want)
				}
			})
		}
	}
}

func TestReadsARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := Read(context.Background(), path, 5)
	if err != nil || string(data) != "hello" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	if _, err := Read(context.Background(), filepath.Join(t.TempDir(), "nope"), 5); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err=%v, want os.ErrNotExist", err)
	}
}

// zeros is an endless reader, like /dev/zero or a file that keeps
// growing; after reads it cancels cancel, if set.
type zeros struct {
	reads  int
	after  int
	cancel context.CancelFunc
}

func (z *zeros) Read(p []byte) (int, error) {
	z.reads++
	if z.cancel != nil && z.reads == z.after {
		z.cancel()
	}
	clear(p)
	return len(p), nil
}

// TestReadLimitedIsBounded: an endless file is refused after limit+1
// bytes, and a read stops when its context ends.
func TestReadLimitedIsBounded(t *testing.T) {
	z := &zeros{}
	if _, err := readLimited(context.Background(), z, 1<<20, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err=%v, want ErrTooLarge", err)
	}
	if z.reads > 1<<20/(64<<10)+1 {
		t.Errorf("%d reads of 64 KiB for a 1 MiB limit", z.reads)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	z = &zeros{after: 3, cancel: cancel}
	if _, err := readLimited(ctx, z, 1<<30, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err=%v, want context.Canceled", err)
	}
	if z.reads != 3 {
		t.Errorf("%d reads, want 3 (it stops when the context ends)", z.reads)
	}
}

// TestReadRefusesAFileLargerThanItsSize: the size checked before reading
// can be wrong (a file that grows, /proc files that say 0); the limit
// holds on what is read.
func TestReadRefusesAFileLargerThanItsSize(t *testing.T) {
	const proc = "/proc/self/status" // size 0, about a KB of content
	fi, err := os.Stat(proc)
	if err != nil || fi.Size() != 0 {
		t.Skipf("no size-0 %s here", proc)
	}
	_, err = Read(context.Background(), proc, 100)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "is over 100 bytes") {
		t.Fatalf("err=%v, want ErrTooLarge, over 100 bytes", err)
	}
	data, err := Read(context.Background(), proc, 1<<20)
	if err != nil || len(data) == 0 {
		t.Fatalf("a small file: %d bytes, %v", len(data), err)
	}
}
