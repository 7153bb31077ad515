package faultnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// session is what the echo server saw on one connection.
type session struct {
	data []byte
	err  error // nil for EOF
}

// echoServer is a real listener on 127.0.0.1:0 that echoes every byte and
// reports each connection's received bytes and end on ended.
type echoServer struct {
	ln    net.Listener
	ended chan session
	wg    sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	recv  []byte // everything received, all connections
}

func startEcho(tb testing.TB) *echoServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s := &echoServer{ln: ln, ended: make(chan session, 16), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) serve(c net.Conn) {
	defer c.Close()
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		s.mu.Lock()
		s.recv = append(s.recv, buf[:n]...)
		s.mu.Unlock()
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			select {
			case s.ended <- session{got, err}:
			default:
			}
			return
		}
	}
}

func (s *echoServer) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.recv)
}

func (s *echoServer) waitEnd(tb testing.TB) session {
	tb.Helper()
	select {
	case e := <-s.ended:
		return e
	case <-time.After(5 * time.Second):
		tb.Fatal("server connection did not end")
		return session{}
	}
}

func startRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	r := New(target)
	if err := r.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r
}

func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes line and reads it back through the echo server.
func roundTrip(tb testing.TB, c net.Conn, line string) {
	tb.Helper()
	if _, err := c.Write([]byte(line)); err != nil {
		tb.Fatalf("write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(line))
	if _, err := io.ReadFull(c, got); err != nil {
		tb.Fatalf("read: %v", err)
	}
	if string(got) != line {
		tb.Fatalf("echo=%q, want %q", got, line)
	}
}

// expectReset asserts that reading c fails because the relay reset it.
func expectReset(tb testing.TB, c net.Conn) {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		tb.Fatalf("client read err=%v, want %v", err, syscall.ECONNRESET)
	}
}

func TestPassThrough(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	c := dial(t, r.Addr())
	roundTrip(t, c, "hello\n")
	roundTrip(t, c, "world\n")
	if got, want := r.Accepted(), 1; got != want {
		t.Fatalf("Accepted=%d, want %d", got, want)
	}
	if got, want := r.Live(), 1; got != want {
		t.Fatalf("Live=%d, want %d", got, want)
	}

	// A half-close travels through: the server sees EOF, then so do we.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if e := srv.waitEnd(t); e.err != nil || string(e.data) != "hello\nworld\n" {
		t.Fatalf("server saw %q, %v; want %q, EOF", e.data, e.err, "hello\nworld\n")
	}
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("client tail=%q, %v; want EOF", rest, err)
	}
}

func TestLatency(t *testing.T) {
	const d = 20 * time.Millisecond
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	r.SetLatency(d)
	c := dial(t, r.Addr())

	start := time.Now()
	roundTrip(t, c, "ping\n")
	if rtt := time.Since(start); rtt < 2*d {
		t.Fatalf("round trip=%v, want >= %v", rtt, 2*d)
	}

	// 100 messages written back to back, each its own write: if every chunk
	// were slept on in turn this would take up to 100 round trips (4 s).
	const n = 100
	errc := make(chan error, 1)
	// Timed from before the first write: the writer may run before the
	// reader's next line, and the floor is from a message's write.
	start = time.Now()
	go func() {
		for i := range n {
			if _, err := fmt.Fprintf(c, "msg %03d\n", i); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	sc := bufio.NewScanner(c)
	for i := range n {
		if !sc.Scan() {
			t.Fatalf("line %d: %v", i, sc.Err())
		}
		if got, want := sc.Text(), fmt.Sprintf("msg %03d", i); got != want {
			t.Fatalf("line %d=%q, want %q (order)", i, got, want)
		}
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if elapsed < 2*d || elapsed > n*2*d/4 {
		t.Fatalf("%d pipelined messages took %v, want between %v and %v", n, elapsed, 2*d, n*2*d/4)
	}
	t.Logf("rtt floor %v; %d pipelined messages in %v", 2*d, n, elapsed)
}

// A relay that slept on each chunk in turn would carry at most one read
// (32 KiB) per d: 4 MiB at 50 ms would need over 6 s each way.
func TestLatencyDelaysWithoutRateLimit(t *testing.T) {
	const d = 50 * time.Millisecond
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	r.SetLatency(d)
	c := dial(t, r.Addr())

	payload := make([]byte, 4<<20)
	for i := range payload {
		payload[i] = byte(i % 251)
	}
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Write(payload)
		errc <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if string(got) != string(payload) {
		t.Fatal("echoed payload differs (order or content)")
	}
	if limit := 3 * time.Second; elapsed < 2*d || elapsed > limit {
		t.Fatalf("4 MiB echo took %v, want between %v and %v", elapsed, 2*d, limit)
	}
	t.Logf("4 MiB echoed at %v one-way in %v", d, elapsed)
}

func TestResetAll(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	c := dial(t, r.Addr())
	roundTrip(t, c, "hello\n")

	r.ResetAll()
	expectReset(t, c)
	if e := srv.waitEnd(t); !errors.Is(e.err, syscall.ECONNRESET) {
		t.Fatalf("server err=%v, want %v", e.err, syscall.ECONNRESET)
	}

	// The relay itself keeps working.
	roundTrip(t, dial(t, r.Addr()), "again\n")
}

func TestBlackhole(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	c := dial(t, r.Addr())
	roundTrip(t, c, "before\n")

	r.Blackhole(true)
	if _, err := c.Write([]byte("lost\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	// Nothing comes back, and the connection stays open (half-open).
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 16)); !isTimeout(err) {
		t.Fatalf("read=%d, %v; want a timeout", n, err)
	}
	if got, want := srv.received(), "before\n"; got != want {
		t.Fatalf("server received %q, want %q", got, want)
	}
	if got, want := r.Live(), 1; got != want {
		t.Fatalf("Live=%d, want %d", got, want)
	}

	// Resuming forwards new data only: "lost" was discarded.
	r.Blackhole(false)
	roundTrip(t, c, "after\n")
	if got, want := srv.received(), "before\nafter\n"; got != want {
		t.Fatalf("server received %q, want %q", got, want)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestRefuse(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	addr := r.Addr()
	old := dial(t, addr)
	roundTrip(t, old, "old\n")

	r.Refuse(true)
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("dial while refusing: err=%v, want %v", err, syscall.ECONNREFUSED)
	}
	roundTrip(t, old, "still\n") // existing connections are untouched

	r.Refuse(false)
	if err := r.Err(); err != nil {
		t.Fatalf("Err=%v", err)
	}
	if got := r.Addr(); got != addr {
		t.Fatalf("Addr=%s, want %s", got, addr)
	}
	roundTrip(t, dial(t, addr), "new\n")
	if got, want := r.Accepted(), 2; got != want {
		t.Fatalf("Accepted=%d, want %d", got, want)
	}
}

func TestRefuseBeforeStart(t *testing.T) {
	srv := startEcho(t)
	r := New(srv.ln.Addr().String())
	r.Refuse(true)
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if _, err := net.Dial("tcp", r.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: err=%v, want %v", err, syscall.ECONNREFUSED)
	}
	r.Refuse(false)
	roundTrip(t, dial(t, r.Addr()), "up\n")
}

func TestCutAfter(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	c := dial(t, r.Addr())
	roundTrip(t, c, "ok\n")

	// The count spans reads: 3 bytes here, 4 of the next write.
	r.CutAfter(7)
	roundTrip(t, c, "ab ")
	if _, err := c.Write([]byte("cdefgh\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	e := srv.waitEnd(t)
	if got, want := string(e.data), "ok\nab cdef"; got != want {
		t.Fatalf("server received %q, want %q", got, want)
	}
	if e.err != nil && !errors.Is(e.err, syscall.ECONNRESET) {
		t.Fatalf("server err=%v, want EOF or %v", e.err, syscall.ECONNRESET)
	}
	// The client gets the 4 echoed bytes (if they beat the reset), then the reset.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	tail, err := io.ReadAll(c)
	if len(tail) > 4 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client tail=%q, %v; want at most %q then %v", tail, err, "cdef", syscall.ECONNRESET)
	}

	// The cut is spent: the next connection passes through whole.
	roundTrip(t, dial(t, r.Addr()), "whole line\n")
}

func TestCutAfterZero(t *testing.T) {
	srv := startEcho(t)
	r := startRelay(t, srv.ln.Addr().String())
	r.CutAfter(0)
	c := dial(t, r.Addr())
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	expectReset(t, c)
	if e := srv.waitEnd(t); len(e.data) != 0 {
		t.Fatalf("server received %q, want nothing", e.data)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	srv := startEcho(t)
	r := New(srv.ln.Addr().String())
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	r.SetLatency(time.Hour) // data parked in a delivery goroutine
	c := dial(t, r.Addr())
	if _, err := c.Write([]byte("parked\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	blackholed := dial(t, r.Addr())
	r.Blackhole(true)
	if _, err := blackholed.Write([]byte("dropped\n")); err != nil {
		t.Fatalf("write: %v", err)
	}

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := r.Live(); got != 0 {
		t.Fatalf("Live=%d after Close, want 0", got)
	}
	for _, conn := range []net.Conn{c, blackholed} {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 16)); err == nil || isTimeout(err) {
			t.Fatalf("client read after Close: err=%v, want closed", err)
		}
	}
	if _, err := net.Dial("tcp", r.Addr()); err == nil {
		t.Fatal("dial after Close succeeded")
	}
	if err := r.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: err=%v, want %v", err, ErrClosed)
	}
}

func TestDeadTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	target := ln.Addr().String()
	_ = ln.Close()

	// The relay resets the client; the reset can even beat the end of connect.
	r := startRelay(t, target)
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial: err=%v, want nil or %v", err, syscall.ECONNRESET)
		}
		return
	}
	defer c.Close()
	expectReset(t, c)
}
