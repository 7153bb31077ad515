package maintpage

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

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

// check is the proxy's reachability check (PROTOCOL.md §5).
const check = "GET / HTTP/1.1\r\nHost: 10.0.0.1:8081\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"

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

// TestConnectionCapRefusesExcess: connections that are not idle (nothing
// sent yet) fill the cap; past it, connections are answered 503 and closed
// at once, and the page is served again once they have gone.
func TestConnectionCapRefusesExcess(t *testing.T) {
	released := make(chan struct{}, 16)
	s := start(t, Options{Limits: Limits{MaxConns: 3, ReadHeaderTimeout: time.Minute,
		onRelease: func() { released <- struct{}{} }}}, Page{Service: "shop"})

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
	if resp := roundTrip(t, held[0], bufio.NewReader(held[0]), check); resp.StatusCode != http.StatusOK {
		t.Fatalf("held connection: %s", resp.Status)
	}
	for _, c := range held {
		c.Close()
	}
	for range held {
		<-released
	}
	c := dial(t, s.Addr())
	if resp := roundTrip(t, c, bufio.NewReader(c), check); resp.StatusCode != http.StatusOK {
		t.Fatalf("check after the held connections closed: %s", resp.Status)
	}
}

// TestConnectionCapEvictsIdle: when the proxy's idle keep-alive
// connections fill the cap, its check still gets through: it takes the
// place of one of them.
func TestConnectionCapEvictsIdle(t *testing.T) {
	idle := make(chan struct{}, 16)
	s := start(t, Options{Limits: Limits{MaxConns: 3, IdleTimeout: time.Minute,
		onIdle: func() { idle <- struct{}{} }}}, Page{Service: "shop"})

	held := make([]net.Conn, 3)
	readers := make([]*bufio.Reader, 3)
	for i := range held {
		held[i] = dial(t, s.Addr())
		readers[i] = bufio.NewReader(held[i])
		if resp := roundTrip(t, held[i], readers[i], check); resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %s", i, resp.Status)
		}
		<-idle
	}
	probe := dial(t, s.Addr())
	if resp := roundTrip(t, probe, bufio.NewReader(probe), check); resp.StatusCode != http.StatusOK {
		t.Fatalf("check with the cap full of idle connections: %s", resp.Status)
	}
	closed := 0
	for i, c := range held {
		if _, err := io.WriteString(c, check); err != nil {
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
	s := start(t, Options{Limits: Limits{IdleTimeout: 50 * time.Millisecond, ReadTimeout: time.Minute}}, Page{})
	c := dial(t, s.Addr())
	br := bufio.NewReader(c)
	if resp := roundTrip(t, c, br, check); resp.StatusCode != http.StatusOK {
		t.Fatalf("check = %s", resp.Status)
	}
	awaitClosed(t, c, br)
}

func TestHeaderNeverFinishedIsCut(t *testing.T) {
	s := start(t, Options{Limits: Limits{ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: time.Minute}}, Page{})
	c := dial(t, s.Addr())
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

// TestOnlyThePage: no path leads to a file or a listing, whatever it
// asks for; every one gets the same page.
func TestOnlyThePage(t *testing.T) {
	s := start(t, Options{}, Page{Service: "shop"})
	_, want := get(t, s, http.MethodGet, "/anything", nil)
	for _, path := range []string{"/", "/etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/hostname", "/.git/config", "/static/"} {
		_, body := get(t, s, http.MethodGet, path, nil)
		if body != want {
			t.Errorf("%s: %q, want the page %q", path, body, want)
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
