package config

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

// ErrNotRegular is the cause when the config path holds something other
// than a regular file: a FIFO, a device, a directory, a socket.
var ErrNotRegular = errors.New("config: not a regular file")

// errTooLarge is readFile's report of a file over its limit.
var errTooLarge = errors.New("file too large")

// readFile returns the content of the regular file at path, at most limit
// bytes, without ever blocking on what sits at the path: a FIFO would block
// an open or a read until a writer comes, /dev/zero or a file that keeps
// growing never ends, and a sparse file can claim gigabytes. So the type
// and size are checked before opening (after resolving symlinks), the file
// is opened non-blocking and checked again on the descriptor (the path may
// have been swapped in between), and the read goes through a limit of
// limit+1 bytes, so that a file that grows after the check is refused too.
// The read stops when ctx ends.
func readFile(ctx context.Context, path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	return readLimited(ctx, f, limit, fi.Size())
}

// regular refuses what is not a regular file, naming what it is, and a
// file over limit.
func regular(path string, fi fs.FileInfo, limit int64) error {
	what := ""
	switch m := fi.Mode(); {
	case m.IsRegular():
		if fi.Size() > limit {
			return fmt.Errorf("%s is %d bytes: %w", path, fi.Size(), errTooLarge)
		}
		return nil
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	default:
		what = "not a regular file (" + m.Type().String() + ")"
	}
	return &notRegularError{path: path, what: what}
}

// notRegularError says what was found at the path; it is ErrNotRegular.
type notRegularError struct{ path, what string }

func (e *notRegularError) Error() string {
	return e.path + " is " + e.what + "; the config must be a regular file"
}

func (e *notRegularError) Is(target error) bool { return target == ErrNotRegular }

// readLimited reads r to its end, refusing more than limit bytes and
// stopping when ctx ends; size is a capacity hint.
func readLimited(ctx context.Context, r io.Reader, limit, size int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(max(size, 0), limit)) + 1)
	chunk := make([]byte, 64<<10)
	lr := io.LimitReader(r, limit+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cannot read config: %w", err)
		}
		n, err := lr.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > limit {
			return nil, fmt.Errorf("more than %d bytes: %w", limit, errTooLarge)
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooLarge is the Error for a file over maxFileSize.
func tooLarge(file string) Errors {
	return Errors{{File: file, Msg: fmt.Sprintf("the file is larger than %d MiB", maxFileSize>>20), Cause: ErrTooLong}}
}
