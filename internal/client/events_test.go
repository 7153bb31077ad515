package client

import (
	"sync"
	"testing"
	"time"
)

func TestDispatcherOrderAndFanout(t *testing.T) {
	d := newDispatcher(time.Now)
	var mu sync.Mutex
	var typed, all []int
	d.on(EventLog, func(e Event) { mu.Lock(); typed = append(typed, e.Data["n"].(int)); mu.Unlock() })
	d.on("", func(e Event) { mu.Lock(); all = append(all, e.Data["n"].(int)); mu.Unlock() })
	// Emitted before the dispatcher runs: queued, not lost, not blocking.
	for i := range 1000 {
		typ := EventLog
		if i%2 == 1 {
			typ = EventError
		}
		d.emit(Event{Type: typ, Data: map[string]any{"n": i}})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { d.run(stop); close(done) }()
	close(stop)
	<-done
	if len(typed) != 500 || len(all) != 1000 {
		t.Fatalf("typed %d, all %d", len(typed), len(all))
	}
	for i, n := range all {
		if n != i {
			t.Fatalf("all[%d]=%d: out of order", i, n)
		}
	}
	for i, n := range typed {
		if n != 2*i {
			t.Fatalf("typed[%d]=%d", i, n)
		}
	}
}

func TestDispatcherHandlerMayEmit(t *testing.T) {
	d := newDispatcher(time.Now)
	got := make(chan EventType, 2)
	d.on(EventConnected, func(Event) { d.emit(Event{Type: EventLog}) }) // no deadlock: not under a lock
	d.on(EventLog, func(e Event) { got <- e.Type })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { d.run(stop); close(done) }()
	d.emit(Event{Type: EventConnected})
	if e := <-got; e != EventLog {
		t.Fatalf("got %v", e)
	}
	close(stop)
	<-done
}
