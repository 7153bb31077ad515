package client

import (
	"sync"
	"time"
)

// Event is something that happened to the connection, the session or a
// maintenance request: one of the types below. Options.OnEvent receives
// them in the order they happened.
type Event interface{ clientEvent() }

// Connected reports the first session registered.
type Connected struct {
	SessionID  string
	Generation uint64
	// Replay is true when the session is new and empty: all configuration
	// must be sent again (§2). It is false only if RECONNECT restored it.
	Replay bool
}

// Reconnected reports a connection up again after a loss; see Connected.
type Reconnected struct {
	SessionID, OldSessionID string
	Generation              uint64
	Replay                  bool
}

// Disconnected reports the loss of the connection of session SessionID.
// Err wraps ErrDisconnected. Requested is true when the owner ended it
// (Run's context, or CLIENT_SHUTDOWN): not a loss to worry about.
type Disconnected struct {
	SessionID string
	Err       error
	Requested bool
}

// Retrying reports the wait before reconnect try number Attempt since the
// last good connection; Err is why the previous try or connection failed.
// Flapping is true while connections are lost soon after their handshake.
type Retrying struct {
	Attempt  int
	Delay    time.Duration
	Flapping bool
	Err      error
}

// ExtendedRetry reports, once per outage, Attempt (5) failed tries in a row;
// a connection lost before it was stable counts as one (Flapping).
type ExtendedRetry struct {
	Attempt  int
	Flapping bool
	Err      error
}

// Flapping reports Count connections in a row lost within Uptime of their
// handshake (from the second one on): each costs the registry a REGISTER
// and a replay.
type Flapping struct {
	Count  int
	Uptime time.Duration
	Err    error
}

// SessionReplaced reports, once per session, that the server answered
// "session not found" on a live connection: another client registered the
// same service and instance (§2), and the registry refuses this one's
// commands. The client does not register again: that would evict the other
// one in turn.
type SessionReplaced struct {
	SessionID string
}

// MaintRequest is one maintenance request: MAINT_ENTER (Enter) or
// MAINT_EXIT of Target, with PageURL for an enter ("" = built-in page).
type MaintRequest struct {
	Enter   bool
	Target  string
	PageURL string
}

// Command is the request's command name.
func (m MaintRequest) Command() string {
	if m.Enter {
		return "MAINT_ENTER"
	}
	return "MAINT_EXIT"
}

// MaintRequested reports a maintenance request about to be sent.
type MaintRequested struct{ MaintRequest }

// MaintResolved reports the outcome of a maintenance request: confirmed by
// the proxy (Mode MaintProxy; Late when it came after the local fallback),
// or not (MaintLocal: the service must handle it itself; Reason says why,
// Err is the refusal or failure when there is one).
type MaintResolved struct {
	MaintRequest
	Mode   MaintMode
	Late   bool
	Reason string
	Err    error
}

// MaintLateTimeout reports the proxy's "ERROR|timeout waiting for ..." for
// a request that had already fallen back to local (§5).
type MaintLateTimeout struct {
	MaintRequest
	Err *ServerError
}

// UnexpectedMaintOK reports a MAINT_OK no request was waiting for.
type UnexpectedMaintOK struct{ Target string }

// UnexpectedAsyncError reports an asynchronous ERROR line no request was
// waiting for.
type UnexpectedAsyncError struct{ Err *ServerError }

// ServerEvent reports an async "EVENT|type|json" line (§6).
type ServerEvent struct{ Type, Payload string }

// ServerShutdown reports the server's async SHUTDOWN line (§6).
type ServerShutdown struct{}

func (Connected) clientEvent()            {}
func (Reconnected) clientEvent()          {}
func (Disconnected) clientEvent()         {}
func (Retrying) clientEvent()             {}
func (ExtendedRetry) clientEvent()        {}
func (Flapping) clientEvent()             {}
func (SessionReplaced) clientEvent()      {}
func (MaintRequested) clientEvent()       {}
func (MaintResolved) clientEvent()        {}
func (MaintLateTimeout) clientEvent()     {}
func (UnexpectedMaintOK) clientEvent()    {}
func (UnexpectedAsyncError) clientEvent() {}
func (ServerEvent) clientEvent()          {}
func (ServerShutdown) clientEvent()       {}

// dispatcher delivers events in emission order to one handler on one
// goroutine, never under a lock and never on the reader goroutine. The queue
// is unbounded: emit never blocks, so the reader goroutine can never be
// stalled by the handler. Events are small and their rate is bounded by the
// traffic the client itself generates, so memory stays proportional to the
// backlog.
type dispatcher struct {
	handler func(Event) // nil: events are dropped

	mu    sync.Mutex
	queue []Event
	wake  chan struct{} // 1-buffered: "queue is not empty"
}

func newDispatcher(handler func(Event)) *dispatcher {
	return &dispatcher{handler: handler, wake: make(chan struct{}, 1)}
}

func (d *dispatcher) emit(e Event) {
	if d.handler == nil {
		return
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
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		d.handler(e)
	}
}
