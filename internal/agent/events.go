package agent

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// The documented events (README "Events"): the event=NAME of their log
// records and the type label of regagent_events_total.
const (
	EventConnected          = "CONNECTED"
	EventDisconnected       = "DISCONNECTED"
	EventRetrying           = "RETRYING"
	EventExtendedRetry      = "EXTENDED_RETRY"
	EventReconnected        = "RECONNECTED"
	EventRouteAdded         = "ROUTE_ADDED"
	EventRouteRemoved       = "ROUTE_REMOVED"
	EventHealthCheckSet     = "HEALTH_CHECK_SET"
	EventConfigApplied      = "CONFIG_APPLIED"
	EventMaintRequested     = "MAINT_REQUESTED"
	EventMaintProxyEntered  = "MAINT_PROXY_ENTERED"
	EventMaintLocalEntered  = "MAINT_LOCAL_ENTERED"
	EventMaintExitRequested = "MAINT_EXIT_REQUESTED"
	EventMaintProxyExited   = "MAINT_PROXY_EXITED"
	EventMaintLocalExited   = "MAINT_LOCAL_EXITED"
	EventConfigValidated    = "CONFIG_VALIDATED"
	EventConfigInvalid      = "CONFIG_INVALID"
	EventLog                = "LOG"
	EventError              = "ERROR"
	EventIPChanged          = "IP_CHANGED"
	EventServer             = "SERVER_EVENT"
	EventServerShutdown     = "SERVER_SHUTDOWN"
	EventMaintPageServing   = "MAINT_PAGE_SERVING"
	EventMaintPageStopped   = "MAINT_PAGE_STOPPED"
	EventMaintPageLoaded    = "MAINT_PAGE_LOADED"
	EventMaintPageInvalid   = "MAINT_PAGE_INVALID"
)

// Event is one documented event as the agent logs and counts it, and
// passes it to Options.OnEvent.
type Event struct {
	Name    string // one of the Event* names
	Time    time.Time
	Level   slog.Level
	Message string
	Err     error
	// Detail is what happened, typed: a client.Event, a reconcile.Report,
	// a maintpage.TemplateEvent, one of this package's ConfigValidated,
	// ConfigInvalid, IPChanged, RestartNeeded, WatchStopped,
	// AddressUnreadable, AddressMissing, AddressFound, PageServing,
	// PageStopped and PageServeFailed, or nil for a line the reconciler
	// logged.
	Detail any
}

// ConfigValidated reports a valid content of the file, and what config
// warns of in it (a maintenance window in the past, for one), with
// positions. Unchanged is set when it renders to the config in force (a
// revert, a comment): nothing is applied.
type ConfigValidated struct {
	File, Hash string
	Routes     int
	Unchanged  bool
	Warnings   []string
}

// ConfigInvalid reports an invalid content of the file, every error with
// its position; or, with Errors nil, a file that could not be read (Err).
// The last good config stays applied; Waiting is set when there is none
// yet (Options.WaitForValidConfig): nothing is sent until the file is
// fixed.
type ConfigInvalid struct {
	File, Hash string
	Errors     []string
	Err        error
	Waiting    bool
}

// IPChanged reports a new address of this host; the file is rendered again.
type IPChanged struct{ Old, New net.IP }

// RestartNeeded reports settings of a valid file that the running agent
// does not take live (see restartOnly).
type RestartNeeded struct{ Keys []string }

// WatchStopped reports a file watcher that could not run: only SIGHUP
// reloads the file.
type WatchStopped struct{ Err error }

// AddressUnreadable reports a failed read of this host's address.
type AddressUnreadable struct{ Err error }

// AddressMissing reports a file that uses ${SELF_IP} on a host without an
// address for it (none within service.ip_cidr): the agent registers
// nothing, is not ready, and keeps looking.
type AddressMissing struct{ Err error }

// AddressFound reports the address found after AddressMissing.
type AddressFound struct{ IP string }

// report logs what happened as its documented event, counts it, and passes
// it on to Options.OnEvent, on the caller's goroutine.
func (a *Agent) report(detail any) {
	a.mu.Lock()
	a.names.note(detail)
	a.mu.Unlock()
	ev, attrs, ok := describe(detail, a.naming())
	if !ok {
		return
	}
	ev.Detail = detail
	a.record(context.Background(), a.log.Handler(), ev, attrs)
}

// record writes ev as one record, with event=NAME, its fields and err, its
// texts bounded; counts it; and passes it on to Options.OnEvent. The count
// does not depend on the log level.
func (a *Agent) record(ctx context.Context, h slog.Handler, ev Event, attrs []slog.Attr) {
	ev.Time = time.Now()
	if h.Enabled(ctx, ev.Level) {
		r := slog.NewRecord(ev.Time, ev.Level, boundText(ev.Message), 0)
		r.AddAttrs(slog.String("event", ev.Name))
		r.AddAttrs(attrs...)
		if ev.Err != nil {
			r.AddAttrs(slog.String("err", boundText(ev.Err.Error())))
		}
		_ = h.Handle(ctx, r)
	}
	a.metrics.observe(ev)
	if a.opts.OnEvent != nil {
		a.opts.OnEvent(ev)
	}
}

// logEvents is the handler of the reconciler's logger: each record it logs
// becomes a LOG event, at the record's level.
type logEvents struct {
	a     *Agent
	inner slog.Handler
}

// Enabled is always true: a LOG event is counted even when its level is
// not printed.
func (h logEvents) Enabled(context.Context, slog.Level) bool { return true }

func (h logEvents) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(at slog.Attr) bool {
		attrs = append(attrs, at)
		return true
	})
	h.a.record(ctx, h.inner, Event{Name: EventLog, Level: r.Level, Message: r.Message}, attrs)
	return nil
}

func (h logEvents) WithAttrs(as []slog.Attr) slog.Handler {
	return logEvents{a: h.a, inner: h.inner.WithAttrs(as)}
}

func (h logEvents) WithGroup(name string) slog.Handler {
	return logEvents{a: h.a, inner: h.inner.WithGroup(name)}
}
