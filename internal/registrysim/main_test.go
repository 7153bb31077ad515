package registrysim

import (
	"bufio"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newServer starts a Server with test-sized maintenance timings and closes
// it when the test ends.
func newServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.MaintTimeout == 0 {
		opts.MaintTimeout = 200 * time.Millisecond
	}
	if opts.MaintInterval == 0 {
		opts.MaintInterval = 10 * time.Millisecond
	}
	s := New(opts)
	if err := s.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// tconn is a tiny line-based test client: it writes lines and reads replies.
// It deliberately shares nothing with internal/client.
type tconn struct {
	tb  testing.TB
	nc  net.Conn
	r   *bufio.Reader
	sid string
}

func dial(tb testing.TB, s *Server) *tconn {
	tb.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &tconn{tb: tb, nc: nc, r: bufio.NewReaderSize(nc, 128*1024)}
}

// send writes the lines in one write; "{sid}" is replaced by the session id.
func (c *tconn) send(lines ...string) {
	c.tb.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.ReplaceAll(l, "{sid}", c.sid) + "\n")
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// next reads one line, with a generous deadline so a hang fails the test.
func (c *tconn) next() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	return strings.TrimSuffix(l, "\n"), err
}

func (c *tconn) read() string {
	c.tb.Helper()
	l, err := c.next()
	if err != nil {
		c.tb.Fatalf("read: %v (partial %q)", err, l)
	}
	return l
}

func (c *tconn) do(line string) string {
	c.tb.Helper()
	c.send(line)
	return c.read()
}

// expect sends line and checks the reply lines; a want starting with "~" is
// a regular expression.
func (c *tconn) expect(line string, want ...string) {
	c.tb.Helper()
	c.send(line)
	for _, w := range want {
		got := c.read()
		if !match(got, w) {
			c.tb.Fatalf("%s\n got: %s\nwant: %s", line, got, w)
		}
	}
}

func match(got, want string) bool {
	if re, ok := strings.CutPrefix(want, "~"); ok {
		return regexp.MustCompile("^(?:" + re + ")$").MatchString(got)
	}
	return got == want
}

func (c *tconn) register(service, instance string) string {
	c.tb.Helper()
	got := c.do("REGISTER|" + service + "|" + instance + "|3001|{}")
	sid, ok := strings.CutPrefix(got, "ACK|")
	if !ok {
		c.tb.Fatalf("REGISTER: %s", got)
	}
	c.sid = sid
	return sid
}

// expectEOF checks that the server closed the connection without a reply.
func (c *tconn) expectEOF() {
	c.tb.Helper()
	l, err := c.next()
	if !errors.Is(err, io.EOF) && !isReset(err) {
		c.tb.Fatalf("want EOF, got line %q err %v", l, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// expectSilence checks that nothing arrives within d (used only to assert
// an absence, never to wait for something).
func (c *tconn) expectSilence(d time.Duration) {
	c.tb.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	l, err := c.r.ReadString('\n')
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.tb.Fatalf("want silence, got %q err %v", l, err)
	}
	if l != "" {
		c.tb.Fatalf("want silence, got partial %q", l)
	}
}

// eventually polls cond: for server-side effects that no line signals
// (a drop noticed by the server, a grace expiry).
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// setup registers c and applies the given ROUTE_ADD lines; it returns the ids.
func (c *tconn) addApply(routes ...string) []string {
	c.tb.Helper()
	var ids []string
	for _, r := range routes {
		got := c.do("ROUTE_ADD|{sid}|" + r)
		id, ok := strings.CutPrefix(got, "ROUTE_OK|")
		if !ok {
			c.tb.Fatalf("ROUTE_ADD %s: %s", r, got)
		}
		ids = append(ids, id)
	}
	c.expect("CONFIG_APPLY|{sid}", "OK")
	return ids
}
