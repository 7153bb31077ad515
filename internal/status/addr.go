package status

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrAddr is the cause of every status address that cannot be used.
var ErrAddr = errors.New("status: bad address")

// addrForms is what an address may look like, for error messages.
const addrForms = "127.0.0.1:9090, http://127.0.0.1:9090, :9090 or 9090"

// splitAddr reads a status address in any of its forms: host:port, a URL
// with nothing after its host:port, :port or the port alone. The scheme is
// "http" unless the URL says otherwise; host is "" when none was given.
func splitAddr(addr string) (scheme, host, port string, err error) {
	bad := func(why string) (string, string, string, error) {
		return "", "", "", fmt.Errorf("%w %q: %s (forms: %s)", ErrAddr, addr, why, addrForms)
	}
	a, scheme := strings.TrimSpace(addr), "http"
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return bad("not a URL")
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return bad("the endpoint speaks http")
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return bad("nothing may follow host:port")
		}
		scheme, a = u.Scheme, u.Host
	}
	if isPort(a) {
		a = ":" + a
	}
	host, port, err = net.SplitHostPort(a)
	if err != nil {
		return bad("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return bad("the port is a number up to 65535")
	}
	// "http//h:1" splits as host "http//h": a URL missing its colon.
	if strings.ContainsFunc(host, func(c rune) bool { return c <= ' ' || c == 0x7f || strings.ContainsRune("/?#@", c) }) {
		return bad("not a host name or IP address")
	}
	return scheme, host, port, nil
}

// BaseURL is the URL of the endpoint at addr, in any of the forms the
// endpoint listens on; without a host it is on 127.0.0.1, where the
// endpoint binds by default.
func BaseURL(addr string) (string, error) {
	scheme, host, port, err := splitAddr(addr)
	if err != nil {
		return "", err
	}
	if port == "0" {
		return "", fmt.Errorf("%w %q: port 0 only means any free port to listen on", ErrAddr, addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// isPort reports whether s is a port number alone.
func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
