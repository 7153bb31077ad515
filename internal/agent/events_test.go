package agent

import (
	"log/slog"
	"testing"

	"regagent/internal/client"
)

func TestEventLevel(t *testing.T) {
	for _, tc := range []struct {
		ev   client.Event
		want slog.Level
	}{
		{client.Event{Type: client.EventError}, slog.LevelError},
		{client.Event{Type: client.EventDisconnected, Data: map[string]any{"closed": false}}, slog.LevelWarn},
		{client.Event{Type: client.EventDisconnected, Data: map[string]any{"closed": true}}, slog.LevelInfo},
		{client.Event{Type: client.EventRetrying}, slog.LevelInfo},
		{client.Event{Type: client.EventExtendedRetry}, slog.LevelWarn},
		{client.Event{Type: client.EventConfigInvalid}, slog.LevelWarn},
		{client.Event{Type: client.EventMaintLocalEntered}, slog.LevelWarn},
		{client.Event{Type: client.EventConfigApplied}, slog.LevelInfo},
		{client.Event{Type: client.EventLog, Data: map[string]any{"level": "warn"}}, slog.LevelWarn},
	} {
		if got := eventLevel(tc.ev); got != tc.want {
			t.Errorf("eventLevel(%s %v) = %v, want %v", tc.ev.Type, tc.ev.Data, got, tc.want)
		}
	}
}
