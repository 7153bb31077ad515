package status

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// TestListenCapsConnections: Listen serves within its limits: while one
// connection that sends nothing holds the only slot, the next is answered
// 503 and closed (the cap and the timeouts are httplimit's, tested there).
func TestListenCapsConnections(t *testing.T) {
	s := start(t, &fakeSource{ready: true}, Limits{MaxConns: 1, ReadHeaderTimeout: time.Minute})
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
	got := Limits{MaxConns: 5}.WithDefaults(DefaultLimits())
	d := DefaultLimits()
	if got.MaxConns != 5 || got.IdleTimeout != d.IdleTimeout || got.ReadTimeout != d.ReadTimeout ||
		got.WriteTimeout != d.WriteTimeout || got.ReadHeaderTimeout != d.ReadHeaderTimeout {
		t.Fatalf("withDefaults = %+v", got)
	}
}
