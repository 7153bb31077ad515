package config

import (
	"errors"
	"fmt"
	"io/fs"

	"regagent/internal/regularfile"
)

// ErrNotRegular is the cause when the config path holds something other
// than a regular file: a FIFO, a device, a directory, a socket.
var ErrNotRegular = errors.New("config: not a regular file")

// readError says why the file at path could not be read (see
// regularfile): a file over maxFileSize is the Errors of tooLarge, named
// file; what is not a regular file is ErrNotRegular, named for what it is.
func readError(file string, err error) error {
	var nr *regularfile.NotRegularError
	switch {
	case errors.Is(err, regularfile.ErrTooLarge):
		return tooLarge(file)
	case errors.As(err, &nr):
		err = &notRegularError{path: nr.Path, what: fileKind(nr.Mode)}
	}
	return fmt.Errorf("cannot read config: %w", err)
}

// fileKind names what a file of mode is, for a message.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// notRegularError says what was found at the path; it is ErrNotRegular.
type notRegularError struct{ path, what string }

func (e *notRegularError) Error() string {
	return e.path + " is " + e.what + "; the config must be a regular file"
}

func (e *notRegularError) Is(target error) bool { return target == ErrNotRegular }

// tooLarge is the Error for a file over maxFileSize.
func tooLarge(file string) Errors {
	return Errors{{File: file, Msg: fmt.Sprintf("the file is larger than %d MiB", maxFileSize>>20), Cause: ErrTooLong}}
}
