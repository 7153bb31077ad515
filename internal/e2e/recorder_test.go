package e2e

import (
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait on a signal; it only fires when something
// is broken, so it is generous for a loaded CI machine with -race.
const waitTimeout = 20 * time.Second

// recorder keeps everything that happened (agent events, log lines of the
// binary) and wakes waiters on every addition. add never blocks, so it can
// be called from the agent's event goroutine.
type recorder[T any] struct {
	mu    sync.Mutex
	items []T
	wake  chan struct{} // closed and replaced on every add
}

func newRecorder[T any]() *recorder[T] {
	return &recorder[T]{wake: make(chan struct{})}
}

func (r *recorder[T]) add(x T) {
	r.mu.Lock()
	r.items = append(r.items, x)
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// mark returns the position of the next item, for waits on what comes after.
func (r *recorder[T]) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// since returns the items from position from on, and the wake channel of
// that moment.
func (r *recorder[T]) since(from int) ([]T, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from > len(r.items) {
		from = len(r.items)
	}
	return append([]T(nil), r.items[from:]...), r.wake
}

// await returns the first item at or after position from that matches, and
// the position after it. It fails the test after waitTimeout.
func (r *recorder[T]) await(tb testing.TB, what string, from int, match func(T) bool) (T, int) {
	tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		items, wake := r.since(from)
		for i, x := range items {
			if match(x) {
				return x, from + i + 1
			}
		}
		select {
		case <-wake:
		case <-timeout.C:
			tb.Fatalf("no %s within %v", what, waitTimeout)
			var zero T
			return zero, from
		}
	}
}

// until waits for cond to hold, checking it now, after every new item and
// at a short tick (for state that changes without an item, like the
// simulated proxy's table right after a reply). It fails the test with
// the last reason after waitTimeout.
func (r *recorder[T]) until(tb testing.TB, what string, cond func() error) {
	tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, wake := r.since(r.mark())
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-timeout.C:
			tb.Fatalf("%s: still not the case after %v: %v", what, waitTimeout, err)
			return
		}
	}
}

// count returns how many items from position from match.
func (r *recorder[T]) count(from int, match func(T) bool) int {
	items, _ := r.since(from)
	n := 0
	for _, x := range items {
		if match(x) {
			n++
		}
	}
	return n
}
