package client

import (
	"testing"
)

func TestDispatcherOrder(t *testing.T) {
	var got []int
	d := newDispatcher(func(e Event) { got = append(got, e.(Retrying).Attempt) })
	// Emitted before the dispatcher runs: queued, not lost, not blocking.
	for i := range 1000 {
		d.emit(Retrying{Attempt: i})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { d.run(stop); close(done) }()
	close(stop)
	<-done
	if len(got) != 1000 {
		t.Fatalf("delivered %d events, want 1000", len(got))
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("got[%d]=%d: out of order", i, n)
		}
	}
}

func TestDispatcherHandlerMayEmit(t *testing.T) {
	got := make(chan Event, 2)
	var d *dispatcher
	d = newDispatcher(func(e Event) {
		if _, ok := e.(Connected); ok {
			d.emit(ServerShutdown{}) // no deadlock: not under a lock
			return
		}
		got <- e
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { d.run(stop); close(done) }()
	d.emit(Connected{})
	if e := <-got; e != (ServerShutdown{}) {
		t.Fatalf("got %#v", e)
	}
	close(stop)
	<-done
}
