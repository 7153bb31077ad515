package reconcile

import "errors"

// ErrInvalid marks a desired state the server refused (§3): an apply it
// rejected. It is terminal: nothing more is sent and nothing is retried
// until the config changes (rule 8). A config is checked before: by
// config.Parse, the one validator of a file, and field by field by the
// client before anything is written (§1).
var ErrInvalid = errors.New("reconcile: invalid desired state")

// ErrMassRemoval marks a plan refused by the blast-radius guard (rule 11).
var ErrMassRemoval = errors.New("reconcile: refusing mass removal")
