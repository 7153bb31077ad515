package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"regagent/internal/agent"
)

// startAgent runs `regagent args... --status-addr 127.0.0.1:0` in this
// process until the test ends, and returns its status address and output.
func startAgent(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	env := &environment{stdout: stdout, stderr: stderr, getenv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithCancel(context.Background())
	exited, code := make(chan struct{}), 0
	go func() {
		defer close(exited)
		code = exitCode(run(ctx, append(args, "--status-addr", "127.0.0.1:0", "--log-format", "json"), env), stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
			if code != exitOK {
				t.Errorf("regagent %v exited %d:\n%s", args, code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("regagent %v did not end after cancel", args)
		}
	})
	if !stderr.awaitMatch(regexp.MustCompile(`"msg":"status endpoint listening"`), exited) {
		t.Fatalf("no status endpoint:\n%s", stderr.String())
	}
	return listenAddr(stderr.String()), stdout
}

// TestStatusExitCodes: 0 ready, 3 answering and not ready, 1 nobody
// answers; scripts see those only as "non-zero".
func TestStatusExitCodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	body := "proxy: {address: \"registry:9000\"}\nservice: {name: shop, instance: s1}\n" +
		"routes:\n  - {name: web, domains: [a.example.com], path: /, backend: \"http://b:3000\"}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	demo, table := startAgent(t, "demo", "-c", path)
	// Nothing reaches the registry at port 1: the agent never gets ready.
	down, _ := startAgent(t, "run", "-c", path, "--proxy", "127.0.0.1:1", "--state-file", "off")

	status := func(addr string) (int, string) {
		var out, errOut strings.Builder
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(string) (string, bool) { return "", false }}
		code := exitCode(run(context.Background(), []string{"status", "--status-addr", addr}, env), &errOut)
		return code, out.String() + errOut.String()
	}
	// The demo draws its table once the file is applied, and the agent
	// publishes its state before it says so.
	table.await(t, "live")
	if code, out := status(demo); code != exitOK || !strings.Contains(out, ": ready\n") {
		t.Errorf("status of the demo: exit %d\n%s", code, out)
	}
	if code, out := status(down); code != exitNotReady || !strings.Contains(out, "NOT READY: not connected") {
		t.Errorf("status of an agent without its registry: exit %d, want %d\n%s", code, exitNotReady, out)
	}
	if code, out := status("127.0.0.1:1"); code != exitError || !strings.Contains(out, "no agent answers") {
		t.Errorf("status of nothing: exit %d, want %d\n%s", code, exitError, out)
	}
}

// TestStatusTextBounds: a plan of thousands of routes, or a target naming
// them all, shows its start and says how much more there is.
func TestStatusTextBounds(t *testing.T) {
	var plan strings.Builder
	ids := make([]string, 2000)
	for i := range ids {
		fmt.Fprintf(&plan, "+ route r%d a%d.example.com/ -> http://b:1\n", i, i)
		ids[i] = fmt.Sprintf("r%d", i)
	}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	at := now.Add(-90 * time.Second)
	st := &agentState{URL: "http://127.0.0.1:9090", State: agent.State{
		Version: agent.StateVersion, Time: now, Ready: true,
		Connection: agent.StateConnection{State: "CONNECTED", SessionID: "s-1", Generation: 2},
		Config:     agent.StateConfig{File: "/etc/regagent/registry.yaml", Hash: strings.Repeat("ab", 32), Valid: true},
		Reconcile: agent.StateReconcile{Converged: true, InForce: true, LastPlan: plan.String(), LastPlanAt: &at,
			LastCounts: agent.StateCounts{Added: 2000, Commands: 2001}},
		Maintenance: []agent.StateTarget{{Target: strings.Join(ids, ","), Routes: ids, Entered: true, Mode: "local",
			Since: at}},
	}}
	var b strings.Builder
	writeStatus(&b, st)
	out := b.String()
	for _, want := range []string{
		"agent at http://127.0.0.1:9090: ready\n",
		"connection  CONNECTED, session s-1 (generation 2)\n",
		"config      /etc/regagent/registry.yaml (hash abababababab), valid\n",
		"last plan   2030-01-01T11:58:30Z (1m30s ago): 2000 added, 2001 commands\n",
		"              + route r19 a19.example.com/ -> http://b:1\n",
		"              (+1980 more lines; --format json shows all)\n",
		"r0,r1,r2,r3,r4,r5,r6,r7,r8,r9 (+1990 more)  r0,r1,r2,r3,r4,r5,r6,r7,r8,r9 (+1990 more)  enter    local",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "r20 ") || len(out) > 4096 {
		t.Errorf("the text is not bounded (%d bytes):\n%s", len(out), out)
	}
}

// TestReadStateRefuses what is no state document of this version: a
// reader of version 1 cannot show a version 2 document right, and must not
// show something else's JSON as an agent's state. Fields it does not know
// are no error.
func TestReadStateRefuses(t *testing.T) {
	read := func(body string) (*agentState, error) {
		t.Helper()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body == "" || r.URL.Path != "/v1/state" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, body)
		}))
		defer srv.Close()
		return readState(context.Background(), srv.URL, 100)
	}
	for body, want := range map[string]string{
		`{"version": 2, "ready": true}`: "is a state document of version 2; this regagent reads version 1",
		`{"ready": true}`:               "is not a state document (no version)",
		`<html>`:                        "is not a state document: invalid character",
		`{"version": 1, "not_ready": "` + strings.Repeat("x", 100) + `"}`: "sent more than 100 bytes",
		"": "answered 404 Not Found (an agent older than this regagent serves no state document)",
	} {
		if _, err := read(body); err == nil || !strings.Contains(err.Error(), want) ||
			!strings.HasPrefix(err.Error(), "cannot read agent status: ") {
			t.Errorf("%.20q: %v, want %q", body, err, want)
		}
	}
	// --format json prints the new fields as they came.
	st, err := read(`{"version": 1, "ready": true, "windows": [{}], "routes": [{"name": "web", "future": 1}]}`)
	if err != nil || !st.Ready || len(st.Routes) != 1 || !strings.Contains(string(st.Raw), `"windows"`) {
		t.Fatalf("a document with new fields: %+v, %v", st, err)
	}
}

// The maintenance windows in force and to come are listed under the
// table, soonest first, as the state document gives them.
func TestStatusShowsWindows(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	from, until := now.Add(time.Hour), now.Add(2*time.Hour)
	st := &agentState{URL: "http://127.0.0.1:9090", State: agent.State{
		Version: agent.StateVersion, Time: now, Ready: true,
		Reconcile: agent.StateReconcile{Windows: []agent.StateWindow{
			{Name: "maintenance", Targets: []string{}, Routes: []string{"api", "web"}, InForce: true},
			{Name: "db-upgrade", Targets: []string{"api"}, Routes: []string{"api"}, From: &from, Until: &until, Reason: "database upgrade"},
		}},
	}}
	var b strings.Builder
	writeStatus(&b, st)
	out := b.String()
	for _, want := range []string{
		"maintenance windows (2)\n",
		"maintenance  in force  api,web  -                     no end                -\n",
		"db-upgrade   upcoming  api      2030-01-01T13:00:00Z  2030-01-01T14:00:00Z  database upgrade\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
