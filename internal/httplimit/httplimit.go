// Package httplimit bounds a local HTTP server: timeouts on reading a
// request, writing its response and idling between requests, and a cap on
// open connections at which a new connection replaces an idle keep-alive
// one (or is refused at once when none is idle). Without them a client
// could hold idle connections and unfinished requests forever and exhaust
// the process's descriptors, which the registry connection needs too.
package httplimit

import (
	"net"
	"net/http"
	"time"
)

// Limits bound what clients of a server can hold.
type Limits struct {
	// ReadHeaderTimeout and ReadTimeout bound reading a request's header
	// and the whole request; WriteTimeout bounds writing the response.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout time.Duration
	// MaxConns caps the open connections. Past it, a new connection
	// replaces an idle keep-alive one, or is answered 503 and closed when
	// none is idle.
	MaxConns int
}

// WithDefaults returns l with its zero (or negative) fields taken from d.
func (l Limits) WithDefaults(d Limits) Limits {
	for _, f := range []struct{ v, def *time.Duration }{
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&l.ReadTimeout, &d.ReadTimeout},
		{&l.WriteTimeout, &d.WriteTimeout}, {&l.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	return l
}

// Apply sets srv's timeouts from l, and its ConnState hook to one the cap
// needs to know which connections are idle (a hook srv already has runs
// after it), and returns ln capped at l.MaxConns open connections: serve
// srv on it. l's fields must be positive (see WithDefaults).
func Apply(srv *http.Server, ln net.Listener, l Limits) net.Listener {
	limited := newListener(ln, l.MaxConns)
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.ReadTimeout = l.ReadTimeout
	srv.WriteTimeout = l.WriteTimeout
	srv.IdleTimeout = l.IdleTimeout
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		limited.connState(c, st)
		if next != nil {
			next(c, st)
		}
	}
	return limited
}
