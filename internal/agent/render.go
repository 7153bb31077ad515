package agent

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"regagent/internal/client"
	"regagent/internal/maintpage"
	"regagent/internal/reconcile"
)

// describe names what happened as its documented event, with its level,
// message and fields (sorted by key, texts and lists bounded: a field never
// moves between releases, and operators grep for them). n speaks of routes
// as the file does. ok is false for a detail no event documents.
func describe(detail any, n naming) (ev Event, attrs []slog.Attr, ok bool) {
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
			// The shutdown asked for it: how the connection ended (EOF
			// after CLIENT_SHUTDOWN) is no error.
			return info(EventDisconnected, "disconnected: shutting down", nil, at...)
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
		msg, attrs := n.maint(d.MaintRequest)
		if !d.Enter && n.exitReason != nil {
			if why := n.exitReason(); why != "" {
				msg += ": " + why
				attrs = append(attrs, text("reason", why))
			}
		}
		return info(name, msg, nil, attrs...)
	case client.MaintResolved:
		return maintResolved(d, n)
	case client.MaintLateTimeout:
		msg, attrs := n.maint(d.MaintRequest)
		return fail(msg+": late "+d.Err.Message, d.Err, append(attrs, slog.Bool("late", true))...)
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
		msg := "config is valid"
		if d.Unchanged {
			msg = "config is valid; no changes to apply"
		}
		at := []slog.Attr{text("file", d.File), text("hash", d.Hash), slog.Int("routes", d.Routes)}
		if len(d.Warnings) > 0 {
			return warn(EventConfigValidated, msg+", with warnings", nil, append(at, list("warnings", d.Warnings))...)
		}
		return info(EventConfigValidated, msg, nil, at...)
	case ConfigInvalid:
		at := []slog.Attr{text("file", d.File), text("hash", d.Hash)}
		err := d.Err
		if d.Errors != nil {
			at, err = append(at, list("errors", d.Errors)), nil
		}
		msg := "config is invalid; the last good config stays applied"
		if d.Waiting {
			msg = "config is invalid; nothing is sent until it is fixed"
		}
		return warn(EventConfigInvalid, msg, err, at...)
	case IPChanged:
		return warn(EventIPChanged, "host address changed", nil, text("new_ip", d.New.String()), text("old_ip", d.Old.String()))
	case RestartNeeded:
		return warn(EventLog, "changed settings take effect when the agent restarts: "+strings.Join(d.Keys, ", "), nil,
			list("keys", d.Keys))
	case WatchStopped:
		return fail("config watch stopped; SIGHUP still reloads", d.Err)
	case AddressUnreadable:
		return warn(EventLog, "cannot read host address", d.Err)
	case PageServing:
		return info(EventMaintPageServing, "serving the maintenance page", nil,
			text("address", d.Address), text("page_url", d.URL))
	case PageStopped:
		return info(EventMaintPageStopped, "maintenance page server stopped", nil, text("address", d.Address))
	case PageServeFailed:
		return fail("cannot serve the maintenance page; the proxy's check of it fails until it can", d.Err,
			text("address", d.Address))
	case maintpage.TemplateEvent:
		if d.Err != nil {
			return warn(EventMaintPageInvalid, "maintenance page file is unusable; the last good page stays", d.Err,
				text("file", d.File), text("hash", d.Hash))
		}
		return info(EventMaintPageLoaded, "maintenance page file loaded", nil, text("file", d.File), text("hash", d.Hash))
	case AddressMissing:
		return warn(EventLog, "the file uses ${SELF_IP} and this host has no address for it; "+
			"nothing is registered until one appears (or set SELF_IP or --self-ip)", d.Err)
	case AddressFound:
		return info(EventLog, "own address found; registering", nil, text("self_ip", d.IP))
	}
	return Event{}, nil, false
}

// maintResolved names a maintenance outcome: confirmed by the proxy, or
// fallen back to local (a warning: the service must handle it itself).
func maintResolved(d client.MaintResolved, n naming) (Event, []slog.Attr, bool) {
	msg, attrs := n.maint(d.MaintRequest)
	ev := Event{Level: slog.LevelInfo, Message: msg + " " + d.Mode.String(), Err: d.Err}
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
	if d.Late {
		ev.Message = msg + " confirmed late"
		attrs = append(attrs, slog.Bool("late", true))
	}
	if d.Reason != "" {
		attrs = append(attrs, text("reason", d.Reason))
	}
	return ev, sorted(attrs), true
}

func text(key, s string) slog.Attr { return slog.String(key, boundText(s)) }

func list(key string, l []string) slog.Attr { return slog.Any(key, boundList(l)) }

func duration(key string, d time.Duration) slog.Attr { return slog.String(key, d.String()) }

func sorted(attrs []slog.Attr) []slog.Attr {
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	return attrs
}
