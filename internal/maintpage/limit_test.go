package maintpage

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenCapsConnections: Listen serves within its limits: while one
// connection that sends nothing holds the only slot, the next is answered
// 503 and closed (the cap and the timeouts are httplimit's, tested there).
func TestListenCapsConnections(t *testing.T) {
	s := start(t, Options{Limits: Limits{MaxConns: 1, ReadHeaderTimeout: time.Minute}}, Page{Service: "shop"})
	var c net.Conn
	for range 2 {
		var err error
		if c, err = net.DialTimeout("tcp", s.Addr(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a safety net only
	if b, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 503") {
		t.Fatalf("connection over the cap: %q, %v", b, err)
	}
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
	got := Limits{MaxConns: 5}.WithDefaults(DefaultLimits())
	d := DefaultLimits()
	if got.MaxConns != 5 || got.IdleTimeout != d.IdleTimeout || got.ReadTimeout != d.ReadTimeout ||
		got.WriteTimeout != d.WriteTimeout || got.ReadHeaderTimeout != d.ReadHeaderTimeout {
		t.Fatalf("withDefaults = %+v", got)
	}
}
