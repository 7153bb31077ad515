package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAgentStatusEndpoint(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000"))
	opts := f.options()
	opts.StatusAddr = "127.0.0.1:0"
	f.start(opts)
	f.await(EventConfigApplied)
	base := "http://" + f.statusAddr()

	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s, want 200 once applied", code, body)
	}
	code, body := get(t, base+"/status")
	if code != http.StatusOK {
		t.Fatalf("/status = %d", code)
	}
	var snap Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("/status is not JSON: %v\n%s", err, body)
	}
	if !snap.ConfigValid || snap.Connection != "CONNECTED" || snap.SessionID == "" || snap.Applied == nil ||
		snap.Applied.Routes["web"].ID == "" || snap.Reconciler == nil || !snap.Reconciler.Converged {
		t.Fatalf("/status = %s", body)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		"regagent_connected 1",
		"regagent_routes_applied 1",
		`regagent_config_reloads_total{result="valid"} 1`,
		`regagent_events_total{type="CONFIG_APPLIED"} 1`,
		"regagent_reconcile_duration_seconds_count 1",
		`regagent_commands_total{command="ROUTE_ADD"} 1`,
		`regagent_commands_total{command="CONFIG_APPLY"} 1`,
		"regagent_round_trip_seconds_count ", // PINGs may add to it
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Without the registry, /readyz says so.
	f.sim.Stop()
	f.await(EventDisconnected)
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not connected") {
		t.Fatalf("/readyz while disconnected = %d %q", code, body)
	}
}

// statusAddr is the address the agent's status endpoint bound, as its
// "status endpoint listening" record tells it.
func (f *fixture) statusAddr() string {
	f.t.Helper()
	addr, _ := f.status.Load().(string)
	if addr == "" {
		f.t.Fatal("the status endpoint has not said where it listens")
	}
	return addr
}

// addrCatcher passes records on to the handler it wraps, and keeps the
// address of the status endpoint's "listening" record, whatever the level
// the wrapped handler logs.
type addrCatcher struct {
	slog.Handler
	addr *atomic.Value
}

func (h addrCatcher) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.Handler.Enabled(ctx, l)
}

func (h addrCatcher) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "status endpoint listening" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "address" {
				h.addr.Store(a.Value.String())
			}
			return true
		})
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h addrCatcher) WithAttrs(as []slog.Attr) slog.Handler {
	return addrCatcher{Handler: h.Handler.WithAttrs(as), addr: h.addr}
}

func (h addrCatcher) WithGroup(name string) slog.Handler {
	return addrCatcher{Handler: h.Handler.WithGroup(name), addr: h.addr}
}
