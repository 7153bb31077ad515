package agent

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"regagent/internal/client"
	"regagent/internal/reconcile"
)

// describe names what happened as its documented event, with its level,
// message and fields (sorted by key, texts and lists bounded: a field never
// moves between releases, and operators grep for them). ok is false for a
// detail no event documents.
func describe(detail any) (ev Event, attrs []slog.Attr, ok bool) {
	info := func(name, msg string, err error, attrs ...slog.Attr) (Event, []slog.Attr, bool) {
		return Event{Name: name, Level: slog.LevelInfo, Message: msg, Err: err}, sorted(attrs), true
	}
	warn := func(name, msg string, err error, attrs ...slog.Attr) (Event, []slog.Attr, bool) {
		return Event{Name: name, Level: slog.LevelWarn, Message: msg, Err: err}, sorted(attrs), true
	}
	fail := func(msg string, err error, attrs ...slog.Attr) (Event, []slog.Attr, bool) {
		return Event{Name: EventError, Level: slog.LevelError, Message: msg, Err: err}, sorted(attrs), true
	}
	switch d := detail.(type) {
	case client.Connected:
		return info(EventConnected, "connected", nil,
			slog.Uint64("generation", d.Generation), slog.Bool("replay", d.Replay), text("session_id", d.SessionID))
	case client.Reconnected:
		return info(EventReconnected, "reconnected", nil, slog.Uint64("generation", d.Generation),
			text("old_session_id", d.OldSessionID), slog.Bool("replay", d.Replay), text("session_id", d.SessionID))
	case client.Disconnected:
		at := []slog.Attr{slog.Bool("closed", d.Requested), text("session_id", d.SessionID)}
		if d.Requested {
			return info(EventDisconnected, "disconnected", d.Err, at...) // the shutdown asked for it
		}
		return warn(EventDisconnected, "disconnected", d.Err, at...)
	case client.Retrying:
		return info(EventRetrying, "reconnecting", d.Err,
			slog.Int("attempt", d.Attempt), duration("delay", d.Delay), slog.Bool("flapping", d.Flapping))
	case client.ExtendedRetry:
		return warn(EventExtendedRetry, "still cannot connect", d.Err,
			slog.Int("attempt", d.Attempt), slog.Bool("flapping", d.Flapping))
	case client.Flapping:
		return warn(EventLog, "connection flapping: lost soon after the handshake", d.Err,
			slog.Int("attempt", d.Count), duration("uptime", d.Uptime))
	case client.SessionReplaced:
		return fail("session replaced: another client registered the same service and instance; "+
			"the registry refuses this one's commands (give each replica its own instance name)",
			client.ErrSessionReplaced, text("session_id", d.SessionID))
	case client.MaintRequested:
		name := EventMaintExitRequested
		if d.Enter {
			name = EventMaintRequested
		}
		return info(name, d.Command()+" "+d.Target, nil, maintAttrs(d.MaintRequest)...)
	case client.MaintResolved:
		return maintResolved(d)
	case client.MaintLateTimeout:
		return fail(d.Command()+" "+d.Target+": late "+d.Err.Message, d.Err,
			append(maintAttrs(d.MaintRequest), slog.Bool("late", true))...)
	case client.UnexpectedMaintOK:
		return warn(EventLog, "unexpected MAINT_OK|"+d.Target, nil, text("target", d.Target))
	case client.UnexpectedAsyncError:
		return fail("unexpected async error: "+d.Err.Message, d.Err)
	case client.ServerEvent:
		return info(EventServer, "server event "+d.Type, nil, text("payload", d.Payload), text("type", d.Type))
	case client.ServerShutdown:
		return info(EventServerShutdown, "server is shutting down", nil)
	case reconcile.RouteAdded:
		return info(EventRouteAdded, "route added", nil, text("route", d.Name), text("route_id", d.ID))
	case reconcile.RouteRemoved:
		return info(EventRouteRemoved, "route removed", nil, text("route", d.Name), text("route_id", d.ID))
	case reconcile.HealthCheckSet:
		return info(EventHealthCheckSet, "health check set", nil, text("route", d.Name), text("route_id", d.ID))
	case reconcile.ConfigApplied:
		n := d.Changes
		return info(EventConfigApplied, "configuration applied", nil,
			slog.Int("added", n.Added), slog.Int("removed", n.Removed), slog.Int("readded", n.Readded),
			slog.Int("updated", n.Updated), slog.Int("purged", n.Purged), slog.Int("maint_enter", n.MaintEnter),
			slog.Int("maint_exit", n.MaintExit), slog.Int("commands", d.Commands), slog.Int("writes", d.Writes),
			duration("duration", d.Duration))
	case reconcile.Failed:
		return fail(d.Err.Error(), d.Err)
	case ConfigValidated:
		at := []slog.Attr{text("file", d.File), text("hash", d.Hash), slog.Int("routes", d.Routes)}
		if len(d.Warnings) > 0 {
			return warn(EventConfigValidated, "config is valid, with warnings", nil, append(at, list("warnings", d.Warnings))...)
		}
		return info(EventConfigValidated, "config is valid", nil, at...)
	case ConfigInvalid:
		at := []slog.Attr{text("file", d.File), text("hash", d.Hash)}
		err := d.Err
		if d.Errors != nil {
			at, err = append(at, list("errors", d.Errors)), nil
		}
		return warn(EventConfigInvalid, "config is invalid; the last good config stays applied", err, at...)
	case IPChanged:
		return warn(EventIPChanged, "host address changed", nil, text("new_ip", d.New.String()), text("old_ip", d.Old.String()))
	case RestartNeeded:
		return warn(EventLog, "changed settings take effect when the agent restarts: "+strings.Join(d.Keys, ", "), nil,
			list("keys", d.Keys))
	case WatchStopped:
		return fail("config watch stopped; SIGHUP still reloads", d.Err)
	case AddressUnreadable:
		return warn(EventLog, "cannot read host address", d.Err)
	}
	return Event{}, nil, false
}

// maintResolved names a maintenance outcome: confirmed by the proxy, or
// fallen back to local (a warning: the service must handle it itself).
func maintResolved(d client.MaintResolved) (Event, []slog.Attr, bool) {
	ev := Event{Level: slog.LevelInfo, Message: d.Command() + " " + d.Target + " " + d.Mode.String(), Err: d.Err}
	switch {
	case d.Mode == client.MaintProxy && d.Enter:
		ev.Name = EventMaintProxyEntered
	case d.Mode == client.MaintProxy:
		ev.Name = EventMaintProxyExited
	case d.Enter:
		ev.Name, ev.Level = EventMaintLocalEntered, slog.LevelWarn
	default:
		ev.Name, ev.Level = EventMaintLocalExited, slog.LevelWarn
	}
	attrs := maintAttrs(d.MaintRequest)
	if d.Late {
		ev.Message = d.Command() + " " + d.Target + " confirmed late"
		attrs = append(attrs, slog.Bool("late", true))
	}
	if d.Reason != "" {
		attrs = append(attrs, text("reason", d.Reason))
	}
	return ev, sorted(attrs), true
}

// maintAttrs are the fields of every maintenance event: the target, and
// the page URL of an enter.
func maintAttrs(m client.MaintRequest) []slog.Attr {
	attrs := []slog.Attr{text("target", m.Target)}
	if m.Enter {
		attrs = append(attrs, text("page_url", m.PageURL))
	}
	return attrs
}

func text(key, s string) slog.Attr { return slog.String(key, boundText(s)) }

func list(key string, l []string) slog.Attr { return slog.Any(key, boundList(l)) }

func duration(key string, d time.Duration) slog.Attr { return slog.String(key, d.String()) }

func sorted(attrs []slog.Attr) []slog.Attr {
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	return attrs
}
