package httplimit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer is a server within limits and what it tells of its
// connections.
type testServer struct {
	addr   string
	idle   chan struct{} // a connection went idle (after the cap saw it)
	closed chan struct{} // a connection was closed (its slot given back)
}

// serve serves a handler that answers "ok" within l until the test ends.
func serve(t *testing.T, l Limits) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), idle: make(chan struct{}, 64), closed: make(chan struct{}, 64)}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }),
		// Runs after the cap's own hook: when it says idle or closed, the
		// cap has seen it.
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateIdle:
				ts.idle <- struct{}{}
			case http.StateClosed:
				ts.closed <- struct{}{}
			}
		},
	}
	limited := Apply(srv, ln, l.WithDefaults(Limits{ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxConns: 64}))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limited) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return ts
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

const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

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
// closed at once, and requests are served again once they have gone.
func TestConnectionCapRefusesExcess(t *testing.T) {
	s := serve(t, Limits{MaxConns: 3})

	held := make([]net.Conn, 3)
	for i := range held {
		held[i] = dial(t, s.addr)
	}
	for i := 0; i < 5; i++ {
		c := dial(t, s.addr)
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 503") || !strings.Contains(string(b), "too many connections") {
			t.Fatalf("excess connection %d: %q, %v", i, b, err)
		}
	}
	// The held ones are still served.
	if resp := roundTrip(t, held[0], bufio.NewReader(held[0]), get); resp.StatusCode != http.StatusOK {
		t.Fatalf("held connection: %s", resp.Status)
	}
	for _, c := range held {
		c.Close()
	}
	for range held {
		<-s.closed
	}
	c := dial(t, s.addr)
	if resp := roundTrip(t, c, bufio.NewReader(c), get); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request after the held connections closed: %s", resp.Status)
	}
}

// TestConnectionCapEvictsIdle: when idle keep-alive connections fill the
// cap, a new connection takes the place of one of them: a probe is served.
func TestConnectionCapEvictsIdle(t *testing.T) {
	s := serve(t, Limits{MaxConns: 3})

	held := make([]net.Conn, 3)
	readers := make([]*bufio.Reader, 3)
	for i := range held {
		held[i] = dial(t, s.addr)
		readers[i] = bufio.NewReader(held[i])
		if resp := roundTrip(t, held[i], readers[i], get); resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %s", i, resp.Status)
		}
		<-s.idle
	}
	probe := dial(t, s.addr)
	if resp := roundTrip(t, probe, bufio.NewReader(probe), get); resp.StatusCode != http.StatusOK {
		t.Fatalf("probe with the cap full of idle connections: %s", resp.Status)
	}
	// Exactly one idle connection made room: the server closed it.
	closed := 0
	for i, c := range held {
		if _, err := io.WriteString(c, get); err != nil {
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
	s := serve(t, Limits{IdleTimeout: 50 * time.Millisecond})
	c := dial(t, s.addr)
	br := bufio.NewReader(c)
	if resp := roundTrip(t, c, br, get); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %s", resp.Status)
	}
	awaitClosed(t, c, br)
}

func TestBodyNeverSentIsCut(t *testing.T) {
	s := serve(t, Limits{ReadTimeout: 50 * time.Millisecond})
	c := dial(t, s.addr)
	br := bufio.NewReader(c)
	// The handler answers without the body; the server then waits for the
	// declared body before it can read the next request.
	resp := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %s", resp.Status)
	}
	awaitClosed(t, c, br)
}

func TestHeaderNeverFinishedIsCut(t *testing.T) {
	s := serve(t, Limits{ReadHeaderTimeout: 50 * time.Millisecond})
	c := dial(t, s.addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	// The server may answer 408 before it closes; then it closes.
	if resp, err := http.ReadResponse(br, nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("unfinished header answered %s", resp.Status)
		}
	}
	awaitClosed(t, c, br)
}

func TestWithDefaults(t *testing.T) {
	d := Limits{ReadHeaderTimeout: 1, ReadTimeout: 2, WriteTimeout: 3, IdleTimeout: 4, MaxConns: 5}
	got := Limits{ReadTimeout: 20, IdleTimeout: -1, MaxConns: 50}.WithDefaults(d)
	want := Limits{ReadHeaderTimeout: 1, ReadTimeout: 20, WriteTimeout: 3, IdleTimeout: 4, MaxConns: 50}
	if got != want {
		t.Fatalf("WithDefaults = %+v, want %+v", got, want)
	}
	if got := (Limits{MaxConns: -1}).WithDefaults(d); got != d {
		t.Fatalf("WithDefaults of nothing = %+v, want %+v", got, d)
	}
}
