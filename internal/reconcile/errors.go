package reconcile

import "errors"

// ErrInvalid marks a desired state the server refused (§3): an apply it
// rejected. Retrying cannot help, so it comes as a TerminalError and the
// last good state stays in force until the config changes (planner rule 8,
// docs/planner.md). A config is checked before: by config.Parse, the one
// validator of a file, and field by field by the client before anything is
// written (§1).
var ErrInvalid = errors.New("reconcile: invalid desired state")

// ErrMassRemoval marks a plan refused by the blast-radius guard (planner
// rule 11, docs/planner.md). It comes as a TerminalError: the same file
// would be refused again.
var ErrMassRemoval = errors.New("reconcile: refusing mass removal")

// TerminalError wraps an error that a retry cannot fix, as
// controller-runtime's reconcile.TerminalError does: Run does not back off
// and retry after it, and Status shows it as Terminal until SetDesired
// brings a new desired state. Its text is the wrapped error's.
type TerminalError struct{ Err error }

func (e *TerminalError) Error() string { return e.Err.Error() }

// Unwrap lets errors.Is and errors.As see the wrapped error.
func (e *TerminalError) Unwrap() error { return e.Err }

// terminal wraps err in a TerminalError.
func terminal(err error) error { return &TerminalError{Err: err} }

// isTerminal reports whether err, or an error it wraps, is a TerminalError.
func isTerminal(err error) bool {
	var t *TerminalError
	return errors.As(err, &t)
}
