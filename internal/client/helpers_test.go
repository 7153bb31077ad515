package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"regagent/internal/registrysim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait for an event; it is a failure deadline, not a
// synchronisation sleep.
const waitFor = 10 * time.Second

func startSim(tb testing.TB, opts registrysim.Options) *registrysim.Server {
	tb.Helper()
	s := registrysim.New(opts)
	if err := s.Start(); err != nil {
		tb.Fatalf("start registrysim: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// recorder keeps every event; await scans forward from a cursor.
type recorder struct {
	mu     sync.Mutex
	events []Event
	signal chan struct{} // closed and replaced on every append
	next   int
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{})} }

func (r *recorder) add(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.signal)
	r.signal = make(chan struct{})
	r.mu.Unlock()
}

// await returns the first event from r's cursor on that is a T and
// satisfies ok (nil = any), and moves the cursor past it.
func await[T Event](tb testing.TB, r *recorder, ok func(T) bool) T {
	tb.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for i := r.next; i < len(r.events); i++ {
			if e, is := r.events[i].(T); is && (ok == nil || ok(e)) {
				r.next = i + 1
				r.mu.Unlock()
				return e
			}
		}
		sig := r.signal
		r.mu.Unlock()
		select {
		case <-sig:
		case <-deadline.C:
			var zero T
			tb.Fatalf("no %T event within %v; seen: %v", zero, waitFor, r.types())
		}
	}
}

// count is the number of events seen so far that are a T and satisfy ok
// (nil = any).
func count[T Event](r *recorder, ok func(T) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e, is := e.(T); is && (ok == nil || ok(e)) {
			n++
		}
	}
	return n
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []string
	for _, e := range r.events {
		ts = append(ts, fmt.Sprintf("%T", e))
	}
	return ts
}

type harness struct {
	c   *Client
	rec *recorder
}

func testOptions(addr string) Options {
	return Options{
		Addr:              addr,
		Service:           "svc",
		Instance:          "i1",
		MaintenancePort:   3001,
		Metadata:          map[string]string{"version": "1"},
		DialTimeout:       2 * time.Second,
		KeepaliveInterval: -1, // tests that need it turn it on
		Backoff:           Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Multiplier: 2},
	}
}

// newClient creates a client for the registry at addr; it is not running.
func newClient(tb testing.TB, addr string, mutate func(*Options)) *harness {
	tb.Helper()
	cfg := testOptions(addr)
	if mutate != nil {
		mutate(&cfg)
	}
	rec := newRecorder()
	cfg.OnEvent = rec.add
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &harness{c: c, rec: rec}
}

// run starts Run and stops it at cleanup, checking it returned.
func (h *harness) run(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(waitFor):
			tb.Errorf("Run did not return")
		}
	})
}

// fastKeepalive sets a keepalive period below the 1 s floor New keeps
// library callers to, so that a test sees many PINGs quickly. Call it
// before run.
func (h *harness) fastKeepalive(interval, timeout time.Duration) {
	h.c.opts.KeepaliveInterval, h.c.opts.KeepaliveTimeout = interval, timeout
}

// connected starts a client on addr and waits for its CONNECTED event.
func connected(tb testing.TB, addr string, mutate func(*Options)) *harness {
	tb.Helper()
	h := newClient(tb, addr, mutate)
	h.run(tb)
	await[Connected](tb, h.rec, nil)
	return h
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	tb.Cleanup(cancel)
	return ctx
}

// eventually waits for cond, a state of the server that offers no event to
// wait on, by polling it. The deadline is a failure bound only.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
