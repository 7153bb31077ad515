package registrysim

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is an injected Options.Now the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// kinds resolves host+path n times and counts the target kinds.
func kinds(srv *Server, host, path string, n int) map[TargetKind]int {
	out := map[TargetKind]int{}
	for range n {
		out[srv.Resolve(host, path).Kind]++
	}
	return out
}

// TestDrain: "DRAIN_START|sid|d: requests to the session's backends (and any
// other session's backend on the same domain+path) are rejected with 503
// "Service draining" with a probability that grows from 50 % of d to 100 %;
// after d every request gets 503 until DRAIN_CANCEL or removal" (§9).
func TestDrain(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv := newServer(t, Options{Now: clock.Now, Seed: 1})
	a, b := dial(t, srv), dial(t, srv)
	a.register("svc", "instA")
	b.register("svc", "instB")
	a.addApply("a.com|/x|http://one:1|0")
	b.addApply("a.com|/x|http://two:1|0", "b.com|/y|http://other:1|0")

	a.expect("DRAIN_START|{sid}|10s", "DRAIN_OK|2026-01-02T03:04:15Z")
	clock.Add(5 * time.Second) // half the drain: nothing rejected yet
	if got := kinds(srv, "a.com", "/x", 200); got[TargetBackend] != 200 {
		t.Fatalf("at 50%%: %v, want every request served", got)
	}
	clock.Add(2500 * time.Millisecond) // 75 %: some rejected, some served
	if got := kinds(srv, "a.com", "/x/1", 200); got[TargetDraining] == 0 || got[TargetBackend] == 0 {
		t.Fatalf("at 75%%: %v, want both served and rejected requests", got)
	}
	// The drain time has passed: all rejected, on the exact path (b's
	// route) as on a sub-path (a's route, first in the list).
	clock.Add(2500 * time.Millisecond)
	for _, p := range []string{"/x", "/x/1"} {
		if got := kinds(srv, "a.com", p, 50); got[TargetDraining] != 50 {
			t.Fatalf("after the drain, %s: %v, want every request rejected", p, got)
		}
	}
	backend(t, srv, "b.com", "/y", "http://other:1") // another key of b: untouched
	a.expect("DRAIN_STATUS|{sid}", `DRAIN_STATUS_OK|{"active":true,"duration_seconds":10,"elapsed_seconds":10,"remaining_seconds":0,"started_at":"2026-01-02T03:04:05Z","traffic_percent":0}`)

	a.expect("DRAIN_CANCEL|{sid}", "DRAIN_OK")
	backend(t, srv, "a.com", "/x", "http://two:1")
	backend(t, srv, "a.com", "/x/1", "http://one:1")
	a.expect("DRAIN_CANCEL|{sid}", "ERROR|no drain in progress")

	// Removal ends it: a re-added route gets a fresh backend object.
	a.expect("DRAIN_START|{sid}|1s", "DRAIN_OK|2026-01-02T03:04:16Z")
	clock.Add(time.Second)
	if got := srv.Resolve("a.com", "/x/1"); got.Kind != TargetDraining {
		t.Fatalf("Resolve = %v, want draining", got.Kind)
	}
	a.expect("ROUTE_REMOVE|{sid}|r1\nCONFIG_APPLY|{sid}", "ROUTE_OK", "OK")
	a.addApply("a.com|/x|http://one:1|0")
	backend(t, srv, "a.com", "/x", "http://one:1")
}

// TestDrainBadDuration: "a bad duration is accepted (DRAIN_OK)" (§9); the
// drain then has no length, and the proxy rejects nothing.
func TestDrainBadDuration(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv := newServer(t, Options{Now: clock.Now})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")
	c.expect("DRAIN_START|{sid}|soon", "DRAIN_OK|2026-01-02T03:04:05Z")
	clock.Add(time.Hour)
	backend(t, srv, "a.com", "/x", "http://one:1")
	c.expect("DRAIN_CANCEL|{sid}", "DRAIN_OK")
}
