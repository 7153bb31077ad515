package status

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// tooMany is the whole answer to a connection over the cap: a client sees
// why, and the connection is gone at once.
const tooMany = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n"

// limitListener caps the connections open at once. At the cap, a new
// connection takes the place of an idle keep-alive one (its client
// reconnects when it needs to), so idle connections cannot lock probes out;
// when none is idle, the new one is refused at once. Connections left in
// the kernel's backlog instead would wait, unanswered, behind the others.
type limitListener struct {
	net.Listener
	sem chan struct{}

	mu   sync.Mutex
	idle map[*limitConn]struct{}

	onRelease func() // tests: a slot was given back
	onIdle    func() // tests: a connection went idle
}

func newLimitListener(ln net.Listener, n int, onRelease, onIdle func()) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), idle: map[*limitConn]struct{}{},
		onRelease: onRelease, onIdle: onIdle}
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
