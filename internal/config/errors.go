package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel causes carried by *Error; test them with errors.Is on an Error or
// on the Errors list returned by Parse.
var (
	ErrSyntax     = errors.New("config: yaml syntax error")
	ErrUnknownKey = errors.New("config: unknown key")
	ErrDuplicate  = errors.New("config: duplicate")
	ErrType       = errors.New("config: wrong type")
	ErrMissing    = errors.New("config: missing value")
	ErrUnsetVar   = errors.New("config: unset variable")
	ErrInvalid    = errors.New("config: invalid value")
	ErrUnsafe     = errors.New("config: value unsafe for the registry protocol")
	ErrTooLong    = errors.New("config: value too long")
	// ErrIneffective is the cause of a warning (Config.Warnings): a value
	// that is valid but does nothing, such as a window in the past.
	ErrIneffective = errors.New("config: value has no effect")
)

// Error is one problem in a config file, placed like a compiler message:
// "file:line:col: path: message". Line and Col are 1-based; 0 means unknown.
// Path is the YAML path of the value ("routes[1].backend"), empty for syntax
// errors. Cause is one of the Err* sentinels. Warning is set on the
// warnings of a valid file (Config.Warnings), which read
// "file:line:col: warning: path: message".
type Error struct {
	File    string
	Line    int
	Col     int
	Path    string
	Msg     string
	Cause   error
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, "%d:", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Warning {
		b.WriteString("warning: ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errors is every problem found in one file, in file order. Parse returns it
// as its error; errors.Is matches if any element matches.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the elements to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
