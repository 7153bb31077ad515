package httplimit

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// tooMany is the whole answer to a connection over the cap: a client sees
// why, and the connection is gone at once. A 503 is also what the proxy's
// reachability check of a maintenance page reads as "not yet" and retries
// (PROTOCOL.md §5).
const tooMany = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n"

// listener caps the connections open at once. At the cap, a new
// connection takes the place of an idle keep-alive one (a proxy keeps a
// pool of them, a client reconnects when it needs to), so idle connections
// cannot lock probes and checks out; when none is idle, the new one is
// refused at once. Connections left in the kernel's backlog instead would
// wait, unanswered, behind the others.
type listener struct {
	net.Listener
	sem chan struct{}

	mu   sync.Mutex
	idle map[*conn]struct{}
}

func newListener(ln net.Listener, n int) *listener {
	return &listener{Listener: ln, sem: make(chan struct{}, n), idle: map[*conn]struct{}{}}
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.acquire() {
			return &conn{Conn: c, l: l}, nil
		}
		// The answer fits any socket buffer; the deadline only guards
		// against a peer that never reads.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(tooMany))
		_ = c.Close()
	}
}

// acquire takes a slot, closing an idle connection for it if need be.
func (l *listener) acquire() bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
	}
	l.mu.Lock()
	var victim *conn
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
func (l *listener) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*conn)
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
}

// conn gives its slot back once, on the first Close.
type conn struct {
	net.Conn
	l      *listener
	once   sync.Once
	closed bool // under l.mu
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.sem
	})
	return err
}
