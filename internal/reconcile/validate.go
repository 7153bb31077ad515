package reconcile

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid marks a desired state the server would reject. It is terminal:
// nothing is sent and nothing is retried until the config changes (rule 8).
var ErrInvalid = errors.New("reconcile: invalid desired state")

// ErrMassRemoval marks a plan refused by the blast-radius guard (rule 11).
var ErrMassRemoval = errors.New("reconcile: refusing mass removal")

// InvalidError says which field of the desired state is invalid.
type InvalidError struct {
	Field string // e.g. `route "api" backend`
	Msg   string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap lets errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// maxLine is the budget for one command line: the server drops the
// connection at 64 KiB (§1); we keep well under it.
const maxLine = 60 * 1024

// Option keys whose values the server parses (§3).
var (
	durationOptions = []string{"timeout", "health_check_interval", "health_check_timeout"}
	boolOptions     = []string{"websocket", "compression", "http2", "http3"}
)

// Validate checks locally everything the server checks, so that no command
// of a plan can be rejected halfway through a pipeline (rule 2): fields
// safe on the wire (§1), paths and backend URLs the server accepts and can
// apply (§3: a bad backend URL passes staging but makes CONFIG_APPLY
// partial), option values of the right type, and no two routes the proxy
// would conflate (same path, overlapping domain, §4).
func (d Desired) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	safe := func(field, v string) {
		if unsafe(v) {
			bad(field, "contains '|', CR or LF (§1)")
		}
	}
	names := make(map[string]bool, len(d.Routes))
	owner := make(map[string]string, 2*len(d.Routes)) // domain+path → route name
	for i, r := range d.Routes {
		// Field names are only built for an error: this runs on every
		// pass over every route.
		f := func(sub string) string { return strings.TrimSpace(fmt.Sprintf("route %q %s", r.Name, sub)) }
		if r.Name == "" {
			bad(fmt.Sprintf("route #%d", i+1), "has no name")
		}
		if isCopyKey(r.Name) {
			bad(f(""), "names starting with %q or %q are reserved", purgePrefix, releasePrefix)
		}
		if names[r.Name] {
			bad(f(""), "name used twice")
		}
		names[r.Name] = true
		if len(r.Domains) == 0 {
			bad(f("domains"), "none given")
		}
		for _, dom := range r.Domains {
			if dom == "" || strings.ContainsAny(dom, ", |\r\n") {
				bad(f("domain"), "%q is empty or contains ',', a space, '|', CR or LF (§1)", dom)
			}
			k := dom + r.Path
			if o, ok := owner[k]; ok && o != r.Name {
				bad(f(""), "same path and a common domain as route %q: the proxy cannot keep both (§4)", o)
			}
			owner[k] = r.Name
		}
		if unsafe(r.Path) || !strings.HasPrefix(r.Path, "/") {
			bad(f("path"), "%q must start with / (the proxy never matches it otherwise, §3) and hold no '|', CR or LF (§1)", r.Path)
		}
		if unsafe(r.Backend) {
			bad(f("backend"), "contains '|', CR or LF (§1)")
		} else if err := checkURL(r.Backend); err != nil {
			bad(f("backend"), "%v", err)
		}
		if h := r.Health; h != nil {
			if unsafe(h.Path) {
				bad(f("health_check path"), "contains '|', CR or LF (§1)")
			}
			if h.Interval <= 0 || h.Timeout <= 0 {
				bad(f("health_check"), "interval and timeout must be positive")
			}
		}
		n := len(r.Path) + len(r.Backend) + 64
		for _, dom := range r.Domains {
			n += len(dom) + 1
		}
		if n > maxLine {
			bad(f(""), "too long for one command line (%d bytes, §1)", n)
		}
	}
	for k, v := range d.Options {
		f := fmt.Sprintf("option %q", k)
		safe(f, k)
		safe(f, v)
		if k == "" {
			bad("option", "empty key")
		}
		switch {
		case slices.Contains(durationOptions, k):
			if _, err := time.ParseDuration(v); err != nil {
				bad(f, "%q is not a duration (§3)", v)
			}
		case slices.Contains(boolOptions, k):
			if _, err := strconv.ParseBool(v); err != nil {
				bad(f, "%q is not a boolean (§3)", v)
			}
		}
	}
	for k, v := range d.Headers {
		f := fmt.Sprintf("header %q", k)
		safe(f, k)
		safe(f, v)
		if k == "" || strings.ContainsAny(k, " :") {
			bad("header", "invalid name %q", k)
		}
	}
	if p := d.Maintenance.Page; p != "" {
		safe("maintenance page", p)
		if err := checkURL(p); err != nil {
			bad("maintenance page", "%v", err)
		}
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	if !strings.Contains(s, "://") {
		return fmt.Errorf("%q has no scheme (§3)", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q has no scheme or host", s)
	}
	return nil
}

// unsafe reports whether v holds a byte the protocol cannot carry (§1). A
// plain loop: it runs for every field of every route on every plan, and
// strings.ContainsAny builds its byte set on each call.
func unsafe(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '|', '\r', '\n':
			return true
		}
	}
	return false
}
