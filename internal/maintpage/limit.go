package maintpage

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what clients of the page server can hold. The page is open
// to anyone who reaches the port: without them, idle keep-alive connections
// and requests never finished would be held forever and exhaust the
// process's descriptors, which the registry connection needs too.
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

	onRelease func() // tests: a connection slot was given back
	onIdle    func() // tests: a connection went idle
}

// DefaultLimits suit a proxy forwarding visitors over a pool of
// connections, and its checks.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxConns:          256,
	}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
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

// tooMany is the whole answer to a connection over the cap. It is a 503,
// which the proxy's check reads as "not yet" and retries (PROTOCOL.md §5).
const tooMany = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n"

// limitListener caps the connections open at once. At the cap, a new
// connection takes the place of an idle keep-alive one (the proxy keeps a
// pool of them, and its check must not be locked out by it); when none is
// idle, the new one is refused at once rather than left in the backlog.
type limitListener struct {
	net.Listener
	sem chan struct{}

	mu   sync.Mutex
	idle map[*limitConn]struct{}

	onRelease, onIdle func()
}

func newLimitListener(ln net.Listener, l Limits) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, l.MaxConns), idle: map[*limitConn]struct{}{},
		onRelease: l.onRelease, onIdle: l.onIdle}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.acquire() {
			return &limitConn{Conn: c, l: l}, nil
		}
		// The answer fits any socket buffer; the deadline only guards
		// against a peer that never reads.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(tooMany))
		_ = c.Close()
	}
}

// acquire takes a slot, closing an idle connection for it if need be.
func (l *limitListener) acquire() bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
	}
	l.mu.Lock()
	var victim *limitConn
	for c := range l.idle {
		victim = c
		break
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	_ = victim.Close() // gives its slot back
	select {
	case l.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// connState is the server's ConnState hook: it tracks the idle connections.
func (l *limitListener) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	if st == http.StateIdle && !c.closed {
		l.idle[c] = struct{}{}
	} else {
		delete(l.idle, c)
	}
	l.mu.Unlock()
	if st == http.StateIdle && l.onIdle != nil {
		l.onIdle()
	}
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	l      *limitListener
	once   sync.Once
	closed bool // under l.mu
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.sem
		if c.l.onRelease != nil {
			c.l.onRelease()
		}
	})
	return err
}
