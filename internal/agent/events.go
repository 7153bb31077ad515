package agent

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"regagent/internal/client"
)

// emit logs ev as one record with event=NAME and its data, counts it, and
// passes it on to Options.OnEvent.
func (a *Agent) emit(ev client.Event) {
	a.log.LogAttrs(context.Background(), eventLevel(ev), eventMessage(ev), eventAttrs(ev)...)
	a.metrics.observe(ev)
	if a.opts.OnEvent != nil {
		a.opts.OnEvent(ev)
	}
}

func eventMessage(ev client.Event) string {
	if ev.Message != "" {
		return boundText(ev.Message)
	}
	return string(ev.Type)
}

// eventLevel maps an event to a log level: failures are errors, fallbacks
// and invalid files warnings, the rest information. A "level" datum wins.
func eventLevel(ev client.Event) slog.Level {
	if l, ok := ev.Data["level"].(string); ok {
		var lvl slog.Level
		if lvl.UnmarshalText([]byte(l)) == nil {
			return lvl
		}
	}
	switch ev.Type {
	case client.EventError:
		return slog.LevelError
	case client.EventDisconnected:
		if closed, _ := ev.Data["closed"].(bool); closed {
			return slog.LevelInfo // the shutdown asked for it
		}
		return slog.LevelWarn
	case client.EventConfigInvalid, client.EventExtendedRetry,
		client.EventMaintLocalEntered, client.EventMaintLocalExited, client.EventIPChanged:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// eventAttrs renders the event's data in a stable (sorted) order, with long
// texts and lists bounded.
func eventAttrs(ev client.Event) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(ev.Data)+2)
	attrs = append(attrs, slog.String("event", string(ev.Type)))
	keys := make([]string, 0, len(ev.Data))
	for k := range ev.Data {
		if k != "level" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := ev.Data[k]
		switch x := v.(type) {
		case time.Duration:
			attrs = append(attrs, slog.String(k, x.String()))
		case string:
			attrs = append(attrs, slog.String(k, boundText(x)))
		case []string:
			attrs = append(attrs, slog.Any(k, boundList(x)))
		default:
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.String("err", boundText(ev.Err.Error())))
	}
	return attrs
}
