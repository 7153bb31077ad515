package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what may travel to the registry. PROTOCOL.md §1: a line of
// 64 KiB or more makes the server drop the connection, and the client
// refuses to write a command over its 60 KiB budget; a valid file must not
// make one. With these bounds the largest single command, ROUTE_ADD (or one
// ROUTE_ADD_BULK entry) of a route with 100 domains of 253 bytes, a 1 KiB
// path and a 2 KiB backend, is about 29 KiB; REGISTER with 16 KiB of
// metadata JSON is about 17 KiB; HEADERS_SET about 5 KiB; OPTIONS_SET well
// under 1 KiB (a duration can be padded with zeros, hence maxOptionLen).
// TestBoundsFitLineBudget keeps this arithmetic honest, and a test of
// internal/reconcile sends the largest file through the client.
const (
	maxFileSize     = 32 << 20 // the whole YAML file
	maxServiceLen   = 253      // service.name, service.instance
	maxRouteNameLen = 128      // routes[].name
	maxDomains      = 100      // routes[].domains entries
	maxHostLen      = 253      // one domain (RFC 1035)
	maxLabelLen     = 63       // one domain label
	maxPathLen      = 1024     // routes[].path, health_check.path
	maxURLLen       = 2048     // routes[].backend, maintenance.page
	maxHeaderName   = 256      // headers keys
	maxHeaderValue  = 4096     // headers values
	maxMetaKey      = 256      // service.metadata keys
	maxMetaValue    = 4096     // service.metadata values
	maxMetadataJSON = 16 << 10 // service.metadata encoded as JSON (REGISTER)
	maxOptionLen    = 64       // options values: a duration or a boolean
)

// ruleError is the outcome of one check: a message and its sentinel cause.
type ruleError struct {
	cause error
	msg   string
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.cause }

func problem(cause error, format string, args ...any) error {
	return &ruleError{cause: cause, msg: fmt.Sprintf(format, args...)}
}

// causeOf returns the sentinel of a check error.
func causeOf(err error) error {
	var re *ruleError
	if errors.As(err, &re) {
		return re.cause
	}
	return ErrInvalid
}

// quote quotes s for a message, shortening long values.
func quote(s string) string {
	const max = 60
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// checkWire rejects what the line protocol cannot carry (PROTOCOL.md §1):
// "|" splits fields and cannot be escaped, CR and LF end the line.
func checkWire(s string) error {
	i := strings.IndexAny(s, "|\r\n")
	switch {
	case i < 0:
		return nil
	case s[i] == '|':
		return problem(ErrUnsafe, "%s contains \"|\", which the registry protocol cannot carry (it separates fields)", quote(s))
	default:
		return problem(ErrUnsafe, "%s contains a line break, which the registry protocol cannot carry (it ends commands)", quote(s))
	}
}

func checkLen(s string, max int) error {
	if len(s) > max {
		return problem(ErrTooLong, "%s is %d bytes long; the limit is %d", quote(s), len(s), max)
	}
	return nil
}

// checkName accepts identifiers: letters, digits, ".", "_", "-", starting
// with a letter or digit.
func checkName(max int) func(string) error {
	return func(s string) error {
		if err := checkLen(s, max); err != nil {
			return err
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if isAlnum(c) || (i > 0 && (c == '.' || c == '_' || c == '-')) {
				continue
			}
			return problem(ErrInvalid, "%s is not a valid name (use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)", quote(s))
		}
		return nil
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkDomain accepts an exact, lower-case host name. The proxy matches the
// Host header against route domains exactly (PROTOCOL.md §4).
func checkDomain(s string) error {
	switch {
	case strings.Contains(s, "*"):
		return problem(ErrInvalid, "%s is a wildcard, but the proxy matches host names exactly; list every host name", quote(s))
	case strings.Contains(s, "/"):
		return problem(ErrInvalid, "%s is not a host name (write the host only, without scheme or path)", quote(s))
	case strings.Contains(s, ":"):
		return problem(ErrInvalid, "%s has a port or is an IPv6 address; write the host name only", quote(s))
	}
	if err := checkLen(s, maxHostLen); err != nil {
		return err
	}
	if strings.ToLower(s) != s {
		return problem(ErrInvalid, "%s must be lower case (the proxy compares host names exactly)", quote(s))
	}
	for label := range strings.SplitSeq(s, ".") {
		ok := label != "" && len(label) <= maxLabelLen && label[0] != '-' && label[len(label)-1] != '-'
		for i := 0; ok && i < len(label); i++ {
			ok = isAlnum(label[i]) || label[i] == '-'
		}
		if !ok {
			return problem(ErrInvalid, "%s is not a valid host name (dot-separated labels of letters, digits and \"-\")", quote(s))
		}
	}
	return nil
}

// checkPath accepts a URL path prefix: it starts with "/" and holds no
// white space or control characters.
func checkPath(s string) error {
	if err := checkLen(s, maxPathLen); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "/") {
		return problem(ErrInvalid, "%s must start with \"/\"", quote(s))
	}
	if hasSpaceOrControl(s) {
		return problem(ErrInvalid, "%s contains white space or control characters", quote(s))
	}
	// The proxy matches a prefix of the request path, which never holds
	// the query or the fragment: such a path could never match.
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		what := "a query (\"?\")"
		if s[i] == '#' {
			what = "a fragment (\"#\")"
		}
		return problem(ErrInvalid, "%s contains %s; a request path never does, so it could never match", quote(s), what)
	}
	return nil
}

func hasSpaceOrControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// checkURL accepts an absolute URL with one of schemes and a host, that
// net/url parses: the real server half-applies a config when it cannot parse
// a backend (PROTOCOL.md §3).
func checkURL(schemes ...string) func(string) error {
	want := strings.Join(schemes, "://, ") + "://"
	if i := strings.LastIndex(want, ", "); i >= 0 {
		want = want[:i] + " or " + want[i+2:]
	}
	return func(s string) error {
		if err := checkLen(s, maxURLLen); err != nil {
			return err
		}
		if hasSpaceOrControl(s) {
			return problem(ErrInvalid, "%s contains white space or control characters", quote(s))
		}
		if !strings.Contains(s, "://") {
			return problem(ErrInvalid, "%s has no scheme (want %s)", quote(s), want)
		}
		u, err := url.Parse(s)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return problem(ErrInvalid, "%s is not a valid URL: %v", quote(s), err)
		}
		ok := false
		for _, sc := range schemes {
			ok = ok || u.Scheme == sc
		}
		if !ok {
			return problem(ErrInvalid, "%s has scheme %q (want %s)", quote(s), u.Scheme, want)
		}
		if u.Hostname() == "" {
			return problem(ErrInvalid, "%s has no host", quote(s))
		}
		if port := u.Port(); port != "" {
			if err := checkPort(s, port); err != nil {
				return err
			}
		} else if strings.HasSuffix(u.Host, ":") {
			return problem(ErrInvalid, "%s has an empty port; want a number from 1 to 65535", quote(s))
		}
		return nil
	}
}

// checkHostPort accepts "host:port"; with requireHost false the host may be
// empty (":9090", all interfaces).
func checkHostPort(requireHost bool) func(string) error {
	return func(s string) error {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return problem(ErrInvalid, "%s is not host:port (e.g. \"registry.internal:9000\")", quote(s))
		}
		if requireHost && host == "" {
			return problem(ErrInvalid, "%s has no host", quote(s))
		}
		if err := checkPort(s, port); err != nil {
			return err
		}
		if hasSpaceOrControl(host) {
			return problem(ErrInvalid, "%s contains white space or control characters", quote(s))
		}
		return nil
	}
}

// checkPort accepts a TCP port, 1 to 65535, of the address or URL s.
func checkPort(s, port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return problem(ErrInvalid, "%s has port %q; want a number from 1 to 65535", quote(s), port)
	}
	return nil
}

// checkHeaderName accepts an HTTP field name (RFC 9110 token).
func checkHeaderName(s string) error {
	if err := checkLen(s, maxHeaderName); err != nil {
		return err
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`~", c) >= 0 {
			continue
		}
		return problem(ErrInvalid, "%s is not a valid HTTP header name (letters, digits and !#$%%&'*+-.^_`~ only)", quote(s))
	}
	return nil
}

// checkHeaderValue accepts an HTTP field value the protocol can carry.
func checkHeaderValue(s string) error {
	if err := checkWire(s); err != nil {
		return err
	}
	if err := checkLen(s, maxHeaderValue); err != nil {
		return err
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return problem(ErrInvalid, "%s contains control characters", quote(s))
		}
	}
	return nil
}
