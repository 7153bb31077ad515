package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
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
	base := "http://" + f.agent.StatusAddr()

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
