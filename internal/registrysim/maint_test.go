package registrysim

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

var errDown = errors.New("connection refused")

// urlChecker answers from a table: a URL missing from it is reachable.
func urlChecker(m map[string]func(ctx context.Context) error) Checker {
	return CheckerFunc(func(ctx context.Context, url string) error {
		if f, ok := m[url]; ok {
			return f(ctx)
		}
		return nil
	})
}

func down(context.Context) error { return errDown }

func maintenance(tb testing.TB, srv *Server, host, path, page string) {
	tb.Helper()
	got := srv.Resolve(host, path)
	if got.Kind != TargetMaintenance || got.Page != page {
		tb.Fatalf("Resolve(%s, %s) = %v page %q, want maintenance page %q", host, path, got.Kind, got.Page, page)
	}
}

func TestMaintEnterExit(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0", "a.com|/y|http://two:1|0")
	c.expect("MAINT_ENTER|{sid}|r1|", "ACK", "MAINT_OK|r1")
	maintenance(t, srv, "a.com", "/x", "")
	backend(t, srv, "a.com", "/y", "http://two:1")
	if got := srv.InMaintenance(); !slices.Equal(got, []string{"http://one:1"}) {
		t.Fatalf("InMaintenance = %v", got)
	}
	c.expect("MAINT_EXIT|{sid}|r1", "ACK", "MAINT_OK|r1")
	backend(t, srv, "a.com", "/x", "http://one:1")
}

func TestMaintSlowPage(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, Options{
		MaintTimeout: time.Minute, // the test, not the clock, decides when the page answers
		Checker: urlChecker(map[string]func(context.Context) error{
			"http://page/slow": func(ctx context.Context) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
		}),
	})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")

	// ACK at once, later replies are not held up, MAINT_OK once the page answers.
	c.expect("MAINT_ENTER|{sid}|r1|http://page/slow", "ACK")
	maintenance(t, srv, "a.com", "/x", "http://page/slow") // in maintenance meanwhile
	c.expect("PING|{sid}", "PONG")
	close(release)
	if got := c.read(); got != "MAINT_OK|r1" {
		t.Fatalf("got %q, want MAINT_OK|r1", got)
	}
}

func TestMaintPageUnreachable(t *testing.T) {
	srv := newServer(t, Options{Checker: urlChecker(map[string]func(context.Context) error{"http://page/down": down})})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")
	// A target-less ERROR after MaintTimeout; the route stays in maintenance.
	c.expect("MAINT_ENTER|{sid}|r1|http://page/down", "ACK",
		"ERROR|timeout waiting for maintenance page to become reachable")
	maintenance(t, srv, "a.com", "/x", "http://page/down")
	c.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["r1"]}`)
}

func TestMaintExitChecksBackend(t *testing.T) {
	srv := newServer(t, Options{Checker: urlChecker(map[string]func(context.Context) error{
		"http://one:1": down,
		"http://two:1": down,
	})})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0", "a.com|/y|http://two:1|0")
	c.expect("MAINT_ENTER|{sid}|ALL|", "ACK", "MAINT_OK|ALL")
	c.expect("MAINT_EXIT|{sid}|r1", "ACK", "ERROR|timeout waiting for backend to become reachable")
	backend(t, srv, "a.com", "/x", "http://one:1") // off at once, whatever the check says
	// A comma list gets MAINT_OK without a check, as does an unknown id.
	c.expect("MAINT_EXIT|{sid}|r2,r1", "ACK", "MAINT_OK|r2,r1")
	c.expect("MAINT_EXIT|{sid}|r77", "ACK", "MAINT_OK|r77")
	c.expect("MAINT_ENTER|{sid}|ALL|", "ACK", "MAINT_OK|ALL")
	c.expect("MAINT_EXIT|{sid}|ALL", "ACK", "ERROR|timeout waiting for backend to become reachable")
	if got := srv.InMaintenance(); len(got) != 0 {
		t.Fatalf("InMaintenance = %v after EXIT ALL", got)
	}
}

func TestMaintSecondOpCancelsFirstSilently(t *testing.T) {
	cancelled := make(chan struct{})
	srv := newServer(t, Options{
		MaintTimeout: time.Minute, // only the cancellation may end the first check
		Checker: urlChecker(map[string]func(context.Context) error{
			"http://page/hang": func(ctx context.Context) error {
				<-ctx.Done()
				close(cancelled)
				return ctx.Err()
			},
		}),
	})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")
	c.expect("MAINT_ENTER|{sid}|r1|http://page/hang", "ACK")
	c.expect("MAINT_EXIT|{sid}|r1", "ACK", "MAINT_OK|r1")
	<-cancelled
	// The first operation never answers: the next line is the PONG.
	c.expect("PING|{sid}", "PONG")
	backend(t, srv, "a.com", "/x", "http://one:1")
}

func TestMaintTargetsThatChangeNothing(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/admin|http://one:1|0")
	c.expect("ROUTE_ADD|{sid}|a.com|/staged|http://two:1|0", "ROUTE_OK|r2")
	c.expect("MAINT_ENTER|{sid}|/admin|", "ACK", "MAINT_OK|/admin")
	c.expect("MAINT_ENTER|{sid}|a.com|", "ACK", "MAINT_OK|a.com")
	c.expect("MAINT_ENTER|{sid}|r2|", "ACK", "MAINT_OK|r2") // staged, not applied
	c.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["/admin","a.com","r2"]}`)
	if got := srv.InMaintenance(); len(got) != 0 {
		t.Fatalf("InMaintenance = %v, want none", got)
	}
	c.expect("CONFIG_APPLY|{sid}", "OK")
	backend(t, srv, "a.com", "/admin", "http://one:1")
	backend(t, srv, "a.com", "/staged", "http://two:1")
}

func TestMaintSharedByBackendString(t *testing.T) {
	srv := newServer(t, Options{})
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.register("svc", "inst1")
	c2.register("svc", "inst2")
	c1.addApply("a.com|/x|http://localhost:19001|0")
	c2.addApply("b.com|/y|http://localhost:19001|0", "b.com|/z|http://127.0.0.1:19001|0")
	c1.expect("MAINT_ENTER|{sid}|r1|", "ACK", "MAINT_OK|r1")
	maintenance(t, srv, "b.com", "/y", "") // same string, other session
	backend(t, srv, "b.com", "/z", "http://127.0.0.1:19001")
	c2.expect("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":[]}`)
	c2.expect("MAINT_EXIT|{sid}|ALL", "ACK", "MAINT_OK|ALL")
	maintenance(t, srv, "b.com", "/y", "") // not cleared by the other session
	maintenance(t, srv, "a.com", "/x", "")
}
