package agent

import (
	"errors"
	"log/slog"
	"testing"

	"regagent/internal/client"
	"regagent/internal/reconcile"
)

func TestEventLevel(t *testing.T) {
	maint := func(enter bool, mode client.MaintMode) client.MaintResolved {
		return client.MaintResolved{MaintRequest: client.MaintRequest{Enter: enter, Target: "r1"}, Mode: mode}
	}
	for _, tc := range []struct {
		detail any
		want   slog.Level
	}{
		{reconcile.Failed{Err: errors.New("x")}, slog.LevelError},
		{client.Disconnected{}, slog.LevelWarn},
		{client.Disconnected{Requested: true}, slog.LevelInfo},
		{client.Retrying{}, slog.LevelInfo},
		{client.ExtendedRetry{}, slog.LevelWarn},
		{ConfigInvalid{}, slog.LevelWarn},
		{maint(true, client.MaintLocal), slog.LevelWarn},
		{maint(false, client.MaintLocal), slog.LevelWarn},
		{maint(true, client.MaintProxy), slog.LevelInfo},
		{reconcile.ConfigApplied{}, slog.LevelInfo},
		{RestartNeeded{Keys: []string{"proxy"}}, slog.LevelWarn},
		{IPChanged{}, slog.LevelWarn},
	} {
		ev, _, ok := describe(tc.detail, naming{})
		if !ok || ev.Level != tc.want {
			t.Errorf("describe(%#v) level = %v (ok %v), want %v", tc.detail, ev.Level, ok, tc.want)
		}
	}
	if _, _, ok := describe(struct{}{}, naming{}); ok {
		t.Error("describe(struct{}{}, naming{}) is an event")
	}
}
