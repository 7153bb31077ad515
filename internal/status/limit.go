package status

import (
	"net"
	"sync"
	"time"
)

// tooMany is the whole answer to a connection over the cap: a client sees
// why, and the connection is gone at once.
const tooMany = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n"

// limitListener caps the connections open at once. Unlike a listener that
// stops accepting at the cap, it refuses the excess at once: connections
// left in the kernel's backlog would wait, unanswered, behind the idle ones.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	onRelease func() // tests: a slot was given back
}

func newLimitListener(ln net.Listener, n int, onRelease func()) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), onRelease: onRelease}
}

func (l *limitListener) release() {
	<-l.sem
	if l.onRelease != nil {
		l.onRelease()
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: l.release}, nil
		default:
		}
		// The answer fits any socket buffer; the deadline only guards
		// against a peer that never reads.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(tooMany))
		_ = c.Close()
	}
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
