package registrysim

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// maxLine is the server's line-scanner buffer (§1): 65,535 bytes plus the
// terminator fit; a line of 65,536 bytes or more drops the connection.
const maxLine = 64 * 1024

// conn is one client connection. Its single reader goroutine (serve) reads,
// dispatches and answers commands in order; maintenance checks write async
// lines through write as well.
type conn struct {
	srv *Server
	in  *instance
	nc  net.Conn

	wmu       sync.Mutex // serialises writes
	closed    chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed after the disconnect was processed

	// Guarded by Server.mu.
	sess *session
	thaw chan struct{} // non-nil while this conn is frozen
}

func newConn(s *Server, in *instance, nc net.Conn) *conn {
	return &conn{srv: s, in: in, nc: nc, closed: make(chan struct{}), done: make(chan struct{})}
}

// close closes the connection; reset sends a TCP RST instead of a FIN.
func (c *conn) close(reset bool) {
	c.closeOnce.Do(func() {
		if tc, ok := c.nc.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		c.nc.Close()
		close(c.closed)
	})
}

func (s *Server) serve(c *conn) {
	defer close(c.done)
	defer s.disconnect(c)
	defer c.close(false)

	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 4096), maxLine)
	// §1, §9: only LF ends a line (bufio.ScanLines drops one CR before it);
	// a CR elsewhere is data. The CR of a CRLF counts against the buffer, so
	// a 65,535-byte line ended by CRLF is too long.
	sc.Split(bufio.ScanLines)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue // §1: empty lines are ignored
		}
		s.record(line)
		if !c.waitThaw() || !s.waitDelay(c) {
			return
		}
		r := s.dispatch(c, line)
		if r.line != "" {
			c.write(r.line)
		}
		if r.then != "" {
			c.write(r.then)
		}
		if r.after != nil {
			r.after()
		}
		if r.close {
			// §9: the server closes the connection but keeps scanning what
			// it had already read, so lines pipelined after CLIENT_SHUTDOWN
			// in the same write still run (their replies are lost).
			c.close(false)
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		// §1/§7: no answer, the connection is dropped and the session is lost.
		s.log.Info("registrysim: line too long, dropping connection", "remote", c.nc.RemoteAddr().String())
	}
}

// waitThaw blocks while the connection is frozen (half-open, see Freeze).
// It reports false if the connection or the process ended meanwhile.
func (c *conn) waitThaw() bool {
	c.srv.mu.Lock()
	ch := c.thaw
	c.srv.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-c.closed:
		return false
	case <-c.in.ctx.Done():
		return false
	}
}

// waitDelay applies SetResponseDelay before a command is processed.
func (s *Server) waitDelay(c *conn) bool {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.closed:
		return false
	case <-c.in.ctx.Done():
		return false
	}
}

// write sends one line. Replies and async lines (MAINT_OK, timeout ERROR)
// share it, so lines never interleave mid-way.
func (c *conn) write(line string) error {
	if !c.waitThaw() {
		return net.ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := io.WriteString(c.nc, line+"\n")
	return err
}

func (s *Server) record(line string) {
	s.mu.Lock()
	s.commands = append(s.commands, line)
	s.mu.Unlock()
}
