package status

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// start serves a fakeSource within limits until the test ends.
func start(t *testing.T, src Source, limits Limits) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", Handler(src, nil), slog.New(slog.DiscardHandler), limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A safety net only: a correct server ends each wait long before.
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// roundTrip sends raw on c and reads one response.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, raw string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

const getHealthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

// awaitClosed reads until the server closes c; a read that ends on the
// safety deadline instead means the server held the connection.
func awaitClosed(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	_, err := br.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server held the connection")
	}
	if err == nil {
		t.Fatal("read data, want the connection closed")
	}
}

// TestConnectionCapRefusesExcess: connections that are not idle (here,
// nothing sent yet) fill the cap; past it, connections are answered 503 and
// closed at once, and /healthz answers again once they have gone.
func TestConnectionCapRefusesExcess(t *testing.T) {
	released := make(chan struct{}, 16)
	s := start(t, &fakeSource{ready: true}, Limits{MaxConns: 3, ReadHeaderTimeout: time.Minute,
		onRelease: func() { released <- struct{}{} }})

	held := make([]net.Conn, 3)
	for i := range held {
		held[i] = dial(t, s.Addr())
	}
	for i := 0; i < 5; i++ {
		c := dial(t, s.Addr())
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 503") || !strings.Contains(string(b), "too many connections") {
			t.Fatalf("excess connection %d: %q, %v", i, b, err)
		}
	}
	// The held ones are still served.
	if resp := roundTrip(t, held[0], bufio.NewReader(held[0]), getHealthz); resp.StatusCode != http.StatusOK {
		t.Fatalf("held connection: %s", resp.Status)
	}
	for _, c := range held {
		c.Close()
	}
	for range held {
		<-released
	}
	c := dial(t, s.Addr())
	if resp := roundTrip(t, c, bufio.NewReader(c), getHealthz); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the held connections closed: %s", resp.Status)
	}
}

// TestConnectionCapEvictsIdle: when idle keep-alive connections fill the
// cap, a new connection takes the place of one of them: a probe is served.
func TestConnectionCapEvictsIdle(t *testing.T) {
	idle := make(chan struct{}, 16)
	s := start(t, &fakeSource{ready: true}, Limits{MaxConns: 3, IdleTimeout: time.Minute,
		onIdle: func() { idle <- struct{}{} }})

	held := make([]net.Conn, 3)
	readers := make([]*bufio.Reader, 3)
	for i := range held {
		held[i] = dial(t, s.Addr())
		readers[i] = bufio.NewReader(held[i])
		if resp := roundTrip(t, held[i], readers[i], getHealthz); resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %s", i, resp.Status)
		}
		<-idle
	}
	probe := dial(t, s.Addr())
	if resp := roundTrip(t, probe, bufio.NewReader(probe), getHealthz); resp.StatusCode != http.StatusOK {
		t.Fatalf("probe with the cap full of idle connections: %s", resp.Status)
	}
	// Exactly one idle connection made room: the server closed it.
	closed := 0
	for i, c := range held {
		if _, err := io.WriteString(c, getHealthz); err != nil {
			closed++
			continue
		}
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			closed++
			continue
		}
		resp.Body.Close()
	}
	if closed != 1 {
		t.Fatalf("%d idle connections closed, want 1", closed)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	s := start(t, &fakeSource{}, Limits{IdleTimeout: 50 * time.Millisecond, ReadTimeout: time.Minute})
	c := dial(t, s.Addr())
	br := bufio.NewReader(c)
	if resp := roundTrip(t, c, br, getHealthz); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %s", resp.Status)
	}
	awaitClosed(t, c, br)
}

func TestBodyNeverSentIsCut(t *testing.T) {
	s := start(t, &fakeSource{}, Limits{ReadTimeout: 50 * time.Millisecond, IdleTimeout: time.Minute})
	c := dial(t, s.Addr())
	br := bufio.NewReader(c)
	// The handler answers without the body; the server then waits for the
	// declared body before it can read the next request.
	resp := roundTrip(t, c, br, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %s", resp.Status)
	}
	awaitClosed(t, c, br)
}

func TestReadyzBodyIsBounded(t *testing.T) {
	ids := make([]string, 12000)
	for i := range ids {
		ids[i] = "r" + strings.Repeat("9", 5)
	}
	why := "not applied: cannot maint_enter " + strings.Join(ids, ",") + ": refused"
	code, body := serve(t, Handler(&fakeSource{why: why}, nil), "/readyz")
	if code != http.StatusServiceUnavailable || len(body) > MaxReadyBody || !strings.HasPrefix(body, "not ready: not applied") ||
		!strings.HasSuffix(body, "(truncated)\n") {
		t.Fatalf("/readyz = %d, %d bytes: %.200q...", code, len(body), body)
	}
	for _, n := range []int{0, 1, 2, 5, 20} {
		got := truncate(strings.Repeat("é", 100), n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("truncate(é×100, %d) = %q", n, got)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxConns: 5}.withDefaults()
	d := DefaultLimits()
	if got.MaxConns != 5 || got.IdleTimeout != d.IdleTimeout || got.ReadTimeout != d.ReadTimeout ||
		got.WriteTimeout != d.WriteTimeout || got.ReadHeaderTimeout != d.ReadHeaderTimeout {
		t.Fatalf("withDefaults = %+v", got)
	}
}
