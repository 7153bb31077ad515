package faultnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

const (
	readSize = 32 << 10
	// queueLen chunks may be in flight per direction. It only bounds memory:
	// with latency d a direction still carries up to queueLen reads per d.
	queueLen = 1024
)

// chunk is one read, waiting to be written to the other side at due.
type chunk struct {
	data  []byte
	due   time.Time
	reset bool // reset the connection after writing data (CutAfter)
}

// link is one relayed connection: client ↔ relay ↔ server.
type link struct {
	r      *Relay
	client *net.TCPConn
	server *net.TCPConn // set once dialled, before the pumps start
	done   chan struct{}

	mu     sync.Mutex
	closed bool
}

func newLink(r *Relay, client *net.TCPConn) *link {
	return &link{r: r, client: client, done: make(chan struct{})}
}

// run dials the target and pumps both directions until they end.
func (l *link) run() {
	c, err := l.r.dialer.DialContext(l.r.ctx, "tcp", l.r.target)
	if err != nil {
		l.close(true) // the client sees a reset, as it would from a dead target
		return
	}
	if !l.setServer(c.(*net.TCPConn)) {
		return
	}
	var wg sync.WaitGroup
	for _, d := range []struct {
		src, dst *net.TCPConn
		up       bool
	}{{l.client, l.server, true}, {l.server, l.client, false}} {
		ch := make(chan chunk, queueLen)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.read(d.src, d.up, ch)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.deliver(d.dst, ch)
		}()
	}
	wg.Wait()
	l.close(false)
}

// read reads src into timestamped chunks until EOF, an error or a cut.
// Closing ch without closing the link means EOF: deliver half-closes dst.
func (l *link) read(src *net.TCPConn, up bool, ch chan<- chunk) {
	defer close(ch)
	buf := make([]byte, readSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if c, ok := l.r.admit(buf[:n], up); ok {
				select {
				case ch <- c:
				case <-l.done:
					return
				}
				if c.reset {
					return
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.close(true) // pass a reset (or our own close) on to the other side
			return
		}
	}
}

// deliver writes each chunk to dst once it is due. One goroutine per
// direction waits for each chunk in turn, so order is kept while the delay
// overlaps for all chunks in flight.
func (l *link) deliver(dst *net.TCPConn, ch <-chan chunk) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var c chunk
		var ok bool
		select {
		case c, ok = <-ch:
		case <-l.done:
			return
		}
		if !ok {
			_ = dst.CloseWrite()
			return
		}
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.done:
				timer.Stop()
				return
			}
		}
		if len(c.data) > 0 && !l.r.blackholed() { // in flight when the blackhole began: dropped
			if _, err := dst.Write(c.data); err != nil {
				l.close(true)
				return
			}
		}
		if c.reset {
			// On loopback the write above has normally reached the peer's
			// receive queue, so the RST does not discard it.
			l.close(true)
			return
		}
	}
}

// setServer records the dialled server side; false if the link was closed
// meanwhile (then the server side is reset too).
func (l *link) setServer(s *net.TCPConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = s.SetLinger(0)
		_ = s.Close()
		return false
	}
	l.server = s
	return true
}

// close closes both sides once; with reset they are sent a TCP RST
// (SO_LINGER 0) instead of a FIN.
func (l *link) close(reset bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	for _, c := range []*net.TCPConn{l.client, l.server} {
		if c == nil {
			continue
		}
		if reset {
			_ = c.SetLinger(0)
		}
		_ = c.Close()
	}
}
