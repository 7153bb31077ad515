// Package regularfile reads a file an operator names without ever blocking
// on what sits at the path: it opens only a regular file, of at most a
// given size, and reads it through that limit. A FIFO would block an open
// or a read until a writer comes, /dev/zero or a file that keeps growing
// never ends, and a sparse file can claim gigabytes.
package regularfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrNotRegular is the cause when the path holds something other than
	// a regular file: a FIFO, a device, a directory, a socket.
	ErrNotRegular = errors.New("regularfile: not a regular file")
	// ErrTooLarge is the cause when the file holds more than the limit.
	ErrTooLarge = errors.New("regularfile: file too large")
)

// NotRegularError says what was found at Path; it is ErrNotRegular.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is not a regular file (%s)", e.Path, e.Mode.Type())
}

func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError says how large the file at Path is; it is ErrTooLarge.
type TooLargeError struct {
	Path  string
	Size  int64 // the size the file claims; -1 when it grew past Limit as it was read
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s is over %d bytes", e.Path, e.Limit)
	}
	return fmt.Sprintf("%s is %d bytes; the limit is %d", e.Path, e.Size, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Open opens the regular file at path for reading, refusing what is not a
// regular file of at most limit bytes. The type and size are checked
// before opening (after resolving symlinks), the file is opened
// non-blocking and checked again on the descriptor, since the path may
// have been swapped in between. The size can still be wrong (a file that
// grows, /proc files that say 0): the caller reads through a limit.
func Open(path string, limit int64) (*os.File, error) {
	f, _, err := open(path, limit)
	return f, err
}

func open(path string, limit int64) (*os.File, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := check(path, fi, limit); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = check(path, fi, limit)
	}
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Read returns the content of the regular file at path (see Open), at most
// limit bytes: the read goes through a limit of limit+1 bytes, so that a
// file that grows after the check is refused too. It stops when ctx ends.
func Read(ctx context.Context, path string, limit int64) ([]byte, error) {
	f, fi, err := open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(ctx, f, limit, fi.Size())
	if errors.Is(err, ErrTooLarge) {
		return nil, &TooLargeError{Path: path, Size: -1, Limit: limit}
	}
	return data, err
}

// check refuses what is not a regular file, and a file over limit.
func check(path string, fi fs.FileInfo, limit int64) error {
	switch {
	case !fi.Mode().IsRegular():
		return &NotRegularError{Path: path, Mode: fi.Mode()}
	case fi.Size() > limit:
		return &TooLargeError{Path: path, Size: fi.Size(), Limit: limit}
	}
	return nil
}

// readLimited reads r to its end, refusing more than limit bytes
// (ErrTooLarge) and stopping when ctx ends; size is a capacity hint.
func readLimited(ctx context.Context, r io.Reader, limit, size int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(max(size, 0), limit)) + 1)
	chunk := make([]byte, 64<<10)
	lr := io.LimitReader(r, limit+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := lr.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > limit {
			return nil, ErrTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
