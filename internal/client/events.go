package client

import (
	"sync"
	"time"
)

// EventType names an event; the value is the name used in logs.
type EventType string

// Event types. Connection: CONNECTED (first connect), RECONNECTED, DISCONNECTED,
// RETRYING (every reconnect try), EXTENDED_RETRY (once, after 5 failures in a
// row; a connection lost before it was stable counts as a failure, and
// Data["flapping"] says so). Data["replay"] on CONNECTED/RECONNECTED is true when the session is new
// and all configuration must be sent again (§2).
const (
	EventConnected          EventType = "CONNECTED"
	EventDisconnected       EventType = "DISCONNECTED"
	EventRetrying           EventType = "RETRYING"
	EventExtendedRetry      EventType = "EXTENDED_RETRY"
	EventReconnected        EventType = "RECONNECTED"
	EventRouteAdded         EventType = "ROUTE_ADDED"
	EventRouteRemoved       EventType = "ROUTE_REMOVED"
	EventHealthCheckSet     EventType = "HEALTH_CHECK_SET"
	EventConfigApplied      EventType = "CONFIG_APPLIED"
	EventMaintRequested     EventType = "MAINT_REQUESTED"
	EventMaintProxyEntered  EventType = "MAINT_PROXY_ENTERED"
	EventMaintLocalEntered  EventType = "MAINT_LOCAL_ENTERED"
	EventMaintExitRequested EventType = "MAINT_EXIT_REQUESTED"
	EventMaintProxyExited   EventType = "MAINT_PROXY_EXITED"
	EventMaintLocalExited   EventType = "MAINT_LOCAL_EXITED"
	EventConfigValidated    EventType = "CONFIG_VALIDATED"
	EventConfigInvalid      EventType = "CONFIG_INVALID"
	EventLog                EventType = "LOG"
	EventError              EventType = "ERROR"
	EventIPChanged          EventType = "IP_CHANGED"
	// EventServer carries an async "EVENT|type|json" line (§6): Data["type"],
	// Data["payload"].
	EventServer EventType = "SERVER_EVENT"
	// EventServerShutdown reports the server's async SHUTDOWN line (§6).
	EventServerShutdown EventType = "SERVER_SHUTDOWN"
)

// Event is one thing that happened. Data keys in use: "session_id",
// "old_session_id", "generation", "replay", "attempt", "delay", "target",
// "page_url", "reason", "late", "route_id", "route", "old_ip", "new_ip",
// "level", "flapping", "uptime".
type Event struct {
	Type    EventType
	Time    time.Time
	Message string
	Err     error
	Data    map[string]any
}

// Handler receives events on the dispatcher goroutine. A slow handler delays
// later events, never the connection. A handler may call any method of the
// Client except Close with an unbounded context: Run waits for the
// dispatcher, so Close would wait for itself.
type Handler func(Event)

// dispatcher delivers events in emission order on one goroutine. The queue is
// unbounded: emit never blocks, so the reader goroutine can never be stalled by
// a handler. Events are small and their rate is bounded by the traffic the
// client itself generates, so memory stays proportional to the backlog.
type dispatcher struct {
	mu       sync.Mutex
	handlers map[EventType][]Handler
	queue    []Event
	wake     chan struct{} // 1-buffered: "queue is not empty"
	now      func() time.Time
}

func newDispatcher(now func() time.Time) *dispatcher {
	return &dispatcher{handlers: map[EventType][]Handler{}, wake: make(chan struct{}, 1), now: now}
}

func (d *dispatcher) on(t EventType, h Handler) {
	d.mu.Lock()
	d.handlers[t] = append(d.handlers[t], h)
	d.mu.Unlock()
}

func (d *dispatcher) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	d.mu.Lock()
	d.queue = append(d.queue, e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run delivers events until stop is closed, then delivers what is still queued
// and returns.
func (d *dispatcher) run(stop <-chan struct{}) {
	for {
		d.drain()
		select {
		case <-d.wake:
		case <-stop:
			d.drain()
			return
		}
	}
}

func (d *dispatcher) drain() {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.queue = nil // let a past burst's backing array go
			d.mu.Unlock()
			return
		}
		e := d.queue[0]
		d.queue[0] = Event{}
		d.queue = d.queue[1:]
		hs := append(append([]Handler(nil), d.handlers[e.Type]...), d.handlers[""]...)
		d.mu.Unlock()
		for _, h := range hs {
			h(e)
		}
	}
}
