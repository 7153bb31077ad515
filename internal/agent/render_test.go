package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
	"regagent/internal/hostip"
	"regagent/internal/maintpage"
	"regagent/internal/reconcile"
)

// renderCase is one documented event as its producer reports it (emit) and
// the one JSON log record it must become (want, without the time).
type renderCase struct {
	name string
	emit func(a *Agent)
	want string
}

// TestEventRendering pins every documented event (README "Events"): the one
// record it is logged as, with event=NAME, its level, message and fields,
// and the count regagent_events_total{type=NAME} it adds. The want strings
// are what operators grep and ship; they must not change.
func TestEventRendering(t *testing.T) {
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := renderAgent(t, &buf)
			wantLines := strings.Split(tc.want, "\n")
			names := map[string]float64{}
			for _, w := range wantLines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(w), &rec); err != nil && w != "" {
					t.Fatalf("bad want %s: %v", w, err)
				}
				name, _ := rec["event"].(string)
				names[name]++
			}
			before := map[string]float64{}
			for name := range names {
				before[name] = counter(t, a, "regagent_events_total", name)
			}
			tc.emit(a)
			if got := strings.TrimSpace(buf.String()); got != tc.want {
				t.Fatalf("records:\n%s\nwant exactly:\n%s", got, tc.want)
			}
			for name, n := range names {
				if got := counter(t, a, "regagent_events_total", name); got != before[name]+n {
					t.Errorf("regagent_events_total{type=%q} = %v, want %v", name, got, before[name]+n)
				}
			}
		})
	}
}

// TestEventMetrics: a reconnect and an apply are counted apart as well.
func TestEventMetrics(t *testing.T) {
	a := renderAgent(t, io.Discard)
	for _, tc := range renderCases() {
		tc.emit(a)
	}
	if got := counter(t, a, "regagent_reconnects_total", ""); got != 1 {
		t.Errorf("regagent_reconnects_total = %v, want 1", got)
	}
	if got := histogramCount(t, a, "regagent_reconcile_duration_seconds"); got != 1 {
		t.Errorf("regagent_reconcile_duration_seconds count = %v, want 1", got)
	}
}

func renderAgent(t *testing.T, w io.Writer) *Agent {
	t.Helper()
	drop := func(_ []string, at slog.Attr) slog.Attr {
		if at.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return at
	}
	a, err := New(Options{ConfigPath: "registry.yaml", Hostname: "h",
		Logger: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: drop}))})
	if err != nil {
		t.Fatal(err)
	}
	// The address never changes here: the check at each connection only
	// records it.
	a.ipw = hostip.NewWatcher(func() (net.IP, error) { return net.IPv4(10, 0, 0, 1), nil })
	a.selfIP = "10.0.0.1"
	nameRoutes(a)
	return a
}

// nameRoutes makes r1 to r12 this session's routes web, api, route3 to
// route12, as the reconciler would report them.
func nameRoutes(a *Agent) {
	for i := 1; i <= 12; i++ {
		name := fmt.Sprintf("route%d", i)
		switch i {
		case 1:
			name = "web"
		case 2:
			name = "api"
		}
		a.names.note(reconcile.RouteAdded{Name: name, ID: fmt.Sprintf("r%d", i)})
	}
}

func renderCases() []renderCase {
	lost := fmt.Errorf("%w: EOF", client.ErrDisconnected)
	refused := &client.ServerError{Command: "MAINT_ENTER", Message: "invalid format"}
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i+1)
	}
	many := strings.Join(ids, ",")
	invalid := config.Errors{
		{File: "registry.yaml", Line: 3, Col: 5, Path: "routes[0].path", Msg: "must start with /", Cause: config.ErrInvalid},
	}
	var lots config.Errors
	for i := range 12 {
		lots = append(lots, &config.Error{File: "registry.yaml", Line: i + 1, Msg: "bad", Cause: config.ErrInvalid})
	}
	fromClient := func(ev client.Event) func(*Agent) { return func(a *Agent) { a.clientEvent(ev) } }
	report := func(d any) func(*Agent) { return func(a *Agent) { a.report(d) } }
	logged := func(level slog.Level, msg string) func(*Agent) {
		return func(a *Agent) { a.reconcilerLogger().Log(context.Background(), level, msg) }
	}
	return []renderCase{
		{"connected", fromClient(client.Connected{SessionID: "i1-1", Generation: 1, Replay: true}),
			`{"level":"INFO","msg":"connected","event":"CONNECTED","generation":1,"replay":true,"session_id":"i1-1"}`},
		{"reconnected", fromClient(client.Reconnected{SessionID: "i1-2", OldSessionID: "i1-1", Generation: 2, Replay: true}),
			`{"level":"INFO","msg":"reconnected","event":"RECONNECTED","generation":2,"old_session_id":"i1-1","replay":true,"session_id":"i1-2"}`},
		{"disconnected", fromClient(client.Disconnected{SessionID: "i1-1", Err: lost}),
			`{"level":"WARN","msg":"disconnected","event":"DISCONNECTED","closed":false,"session_id":"i1-1","err":"client: disconnected: EOF"}`},
		{"disconnected on request", fromClient(client.Disconnected{SessionID: "i1-1", Err: lost, Requested: true}),
			`{"level":"INFO","msg":"disconnected: shutting down","event":"DISCONNECTED","closed":true,"session_id":"i1-1"}`},
		{"retrying", fromClient(client.Retrying{Attempt: 1, Delay: 250 * time.Millisecond, Err: lost}),
			`{"level":"INFO","msg":"reconnecting","event":"RETRYING","attempt":1,"delay":"250ms","flapping":false,"err":"client: disconnected: EOF"}`},
		{"extended retry", fromClient(client.ExtendedRetry{Attempt: 5, Flapping: true, Err: lost}),
			`{"level":"WARN","msg":"still cannot connect","event":"EXTENDED_RETRY","attempt":5,"flapping":true,"err":"client: disconnected: EOF"}`},
		{"flapping", fromClient(client.Flapping{Count: 2, Uptime: 1500 * time.Millisecond, Err: lost}),
			`{"level":"WARN","msg":"connection flapping: lost soon after the handshake","event":"LOG","attempt":2,"uptime":"1.5s","err":"client: disconnected: EOF"}`},
		{"session replaced", fromClient(client.SessionReplaced{SessionID: "i1-1"}),
			`{"level":"ERROR","msg":"session replaced: another client registered the same service and instance; the registry refuses this one's commands (give each replica its own instance name)","event":"ERROR","session_id":"i1-1","err":"client: session replaced"}`},
		{"route added", report(reconcile.RouteAdded{Name: "web", ID: "r1"}),
			`{"level":"INFO","msg":"route added","event":"ROUTE_ADDED","route":"web","route_id":"r1"}`},
		{"route removed", report(reconcile.RouteRemoved{Name: "old", ID: "r2"}),
			`{"level":"INFO","msg":"route removed","event":"ROUTE_REMOVED","route":"old","route_id":"r2"}`},
		{"health check set", report(reconcile.HealthCheckSet{Name: "web", ID: "r1"}),
			`{"level":"INFO","msg":"health check set","event":"HEALTH_CHECK_SET","route":"web","route_id":"r1"}`},
		{"config applied", report(reconcile.ConfigApplied{
			Changes:  reconcile.Counts{Added: 1, Removed: 2, Readded: 3, Updated: 4, Purged: 5, MaintEnter: 6, MaintExit: 7, Commands: 99},
			Commands: 8, Writes: 9, Duration: 1500 * time.Microsecond}),
			`{"level":"INFO","msg":"configuration applied","event":"CONFIG_APPLIED","added":1,"commands":8,"duration":"1.5ms","maint_enter":6,"maint_exit":7,"purged":5,"readded":3,"removed":2,"updated":4,"writes":9}`},
		{"maint requested", fromClient(client.MaintRequested{MaintRequest: client.MaintRequest{Enter: true, Target: "r1,r2", PageURL: "http://10.0.0.1:8080/maint"}}),
			`{"level":"INFO","msg":"MAINT_ENTER web,api","event":"MAINT_REQUESTED","page_url":"http://10.0.0.1:8080/maint","routes":["web","api"],"target":"r1,r2"}`},
		{"maint requested, long target", fromClient(client.MaintRequested{MaintRequest: client.MaintRequest{Enter: true, Target: many}}),
			`{"level":"INFO","msg":"MAINT_ENTER web,api,route3,route4,route5,route6,route7,route8,route9,route10 (+2 more)","event":"MAINT_REQUESTED","page_url":"","routes":["web","api","route3","route4","route5","route6","route7","route8","route9","route10","(+2 more)"],"target":"r1,r2,r3,r4,r5,r6,r7,r8,r9,r10 (+2 more)"}`},
		{"maint exit requested", fromClient(client.MaintRequested{MaintRequest: client.MaintRequest{Target: "r1"}}),
			`{"level":"INFO","msg":"MAINT_EXIT web","event":"MAINT_EXIT_REQUESTED","routes":["web"],"target":"r1"}`},
		{"maint proxy entered", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Enter: true, Target: "r1", PageURL: "http://10.0.0.1:8080/maint"}, Mode: client.MaintProxy}),
			`{"level":"INFO","msg":"MAINT_ENTER web proxy","event":"MAINT_PROXY_ENTERED","page_url":"http://10.0.0.1:8080/maint","routes":["web"],"target":"r1"}`},
		{"maint proxy entered late", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Enter: true, Target: "ALL"}, Mode: client.MaintProxy, Late: true}),
			`{"level":"INFO","msg":"MAINT_ENTER ALL confirmed late","event":"MAINT_PROXY_ENTERED","late":true,"page_url":"","target":"ALL"}`},
		{"maint local entered", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Enter: true, Target: "r1"}, Mode: client.MaintLocal, Reason: "refused by proxy", Err: refused}),
			`{"level":"WARN","msg":"MAINT_ENTER web local","event":"MAINT_LOCAL_ENTERED","page_url":"","reason":"refused by proxy","routes":["web"],"target":"r1","err":"client: server refused MAINT_ENTER: invalid format"}`},
		{"maint proxy exited", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Target: "r1"}, Mode: client.MaintProxy}),
			`{"level":"INFO","msg":"MAINT_EXIT web proxy","event":"MAINT_PROXY_EXITED","routes":["web"],"target":"r1"}`},
		{"maint proxy exited late", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Target: "r1"}, Mode: client.MaintProxy, Late: true}),
			`{"level":"INFO","msg":"MAINT_EXIT web confirmed late","event":"MAINT_PROXY_EXITED","late":true,"routes":["web"],"target":"r1"}`},
		{"maint local exited", fromClient(client.MaintResolved{MaintRequest: client.MaintRequest{Target: "r1"}, Mode: client.MaintLocal, Reason: "no confirmation in time"}),
			`{"level":"WARN","msg":"MAINT_EXIT web local","event":"MAINT_LOCAL_EXITED","reason":"no confirmation in time","routes":["web"],"target":"r1"}`},
		{"maint late timeout", fromClient(client.MaintLateTimeout{MaintRequest: client.MaintRequest{Enter: true, Target: "r1", PageURL: "http://p"},
			Err: &client.ServerError{Command: "MAINT_ENTER", Message: "timeout waiting for maintenance page to become reachable"}}),
			`{"level":"ERROR","msg":"MAINT_ENTER web: late timeout waiting for maintenance page to become reachable","event":"ERROR","late":true,"page_url":"http://p","routes":["web"],"target":"r1","err":"client: server refused MAINT_ENTER: timeout waiting for maintenance page to become reachable"}`},
		{"unexpected maint ok", fromClient(client.UnexpectedMaintOK{Target: "r9"}),
			`{"level":"WARN","msg":"unexpected MAINT_OK|r9","event":"LOG","target":"r9"}`},
		{"unexpected async error", fromClient(client.UnexpectedAsyncError{Err: &client.ServerError{Message: "timeout waiting for backend to become reachable"}}),
			`{"level":"ERROR","msg":"unexpected async error: timeout waiting for backend to become reachable","event":"ERROR","err":"client: server refused : timeout waiting for backend to become reachable"}`},
		{"server event", fromClient(client.ServerEvent{Type: "route", Payload: `{"id":"r1"}`}),
			`{"level":"INFO","msg":"server event route","event":"SERVER_EVENT","payload":"{\"id\":\"r1\"}","type":"route"}`},
		{"server shutdown", fromClient(client.ServerShutdown{}),
			`{"level":"INFO","msg":"server is shutting down","event":"SERVER_SHUTDOWN"}`},
		{"ip changed", report(IPChanged{Old: net.IPv4(10, 0, 0, 1), New: net.IPv4(10, 0, 0, 2)}),
			`{"level":"WARN","msg":"host address changed","event":"IP_CHANGED","new_ip":"10.0.0.2","old_ip":"10.0.0.1"}`},
		{"host address unreadable", report(AddressUnreadable{Err: errors.New("no non-loopback IPv4 address")}),
			`{"level":"WARN","msg":"cannot read host address","event":"LOG","err":"no non-loopback IPv4 address"}`},
		{"replaying", logged(slog.LevelInfo, "new session i1-2: replaying the configuration"),
			`{"level":"INFO","msg":"new session i1-2: replaying the configuration","event":"LOG"}`},
		{"drift", logged(slog.LevelWarn, "drift: 1 routes missing, 0 different, 2 unknown on the proxy"),
			`{"level":"WARN","msg":"drift: 1 routes missing, 0 different, 2 unknown on the proxy","event":"LOG"}`},
		{"reconcile failed", report(reconcile.Failed{Err: fmt.Errorf("cannot send plan: %w", lost)}),
			`{"level":"ERROR","msg":"cannot send plan: client: disconnected: EOF","event":"ERROR","err":"cannot send plan: client: disconnected: EOF"}`},
		{"config validated", func(a *Agent) {
			a.update(config.Update{Config: &config.Config{Hash: "abc"}, Hash: "abc", Routes: 2})
		}, `{"level":"INFO","msg":"config is valid","event":"CONFIG_VALIDATED","file":"registry.yaml","hash":"abc","routes":2}`},
		{"config validated with warnings", func(a *Agent) {
			w := &config.Error{File: "registry.yaml", Line: 9, Col: 14, Path: "maintenance.windows[0].until", Msg: "this window ended", Warning: true}
			a.update(config.Update{Config: &config.Config{Hash: "abc", Warnings: config.Errors{w}}, Hash: "abc", Routes: 2})
		}, `{"level":"WARN","msg":"config is valid, with warnings","event":"CONFIG_VALIDATED","file":"registry.yaml","hash":"abc","routes":2,"warnings":["registry.yaml:9:14: warning: maintenance.windows[0].until: this window ended"]}`},
		{"config invalid", func(a *Agent) {
			a.update(config.Update{Err: invalid, Hash: "def"})
		}, `{"level":"WARN","msg":"config is invalid; the last good config stays applied","event":"CONFIG_INVALID","errors":["registry.yaml:3:5: routes[0].path: must start with /"],"file":"registry.yaml","hash":"def"}`},
		{"config invalid, many errors", func(a *Agent) {
			a.update(config.Update{Err: lots, Hash: "def"})
		}, `{"level":"WARN","msg":"config is invalid; the last good config stays applied","event":"CONFIG_INVALID","errors":["registry.yaml:1: bad","registry.yaml:2: bad","registry.yaml:3: bad","registry.yaml:4: bad","registry.yaml:5: bad","registry.yaml:6: bad","registry.yaml:7: bad","registry.yaml:8: bad","registry.yaml:9: bad","registry.yaml:10: bad","(+2 more)"],"file":"registry.yaml","hash":"def"}`},
		{"config unreadable", func(a *Agent) {
			a.update(config.Update{Err: errors.New("open registry.yaml: no such file or directory")})
		}, `{"level":"WARN","msg":"config is invalid; the last good config stays applied","event":"CONFIG_INVALID","file":"registry.yaml","hash":"","err":"open registry.yaml: no such file or directory"}`},
		{"restart needed", func(a *Agent) {
			a.mu.Lock()
			a.cfg = &config.Config{Hash: "abc"}
			a.mu.Unlock()
			cfg := &config.Config{Hash: "abd"}
			cfg.Service.Name, cfg.Service.Instance = "shop", "i2"
			a.update(config.Update{Config: cfg, Hash: "abd", Routes: 0})
		}, `{"level":"INFO","msg":"config is valid","event":"CONFIG_VALIDATED","file":"registry.yaml","hash":"abd","routes":0}` + "\n" +
			`{"level":"WARN","msg":"changed settings take effect when the agent restarts: service.name, service.instance","event":"LOG","keys":["service.name","service.instance"]}`},
		{"maint release of a temporary route", fromClient(client.MaintRequested{MaintRequest: client.MaintRequest{Target: "r99,r99"}}),
			`{"level":"INFO","msg":"MAINT_EXIT temporary route r99","event":"MAINT_EXIT_REQUESTED","routes":["temporary route r99"],"target":"r99,r99"}`},
		{"maint exit at until", func(a *Agent) {
			until := time.Date(2020, 1, 1, 6, 0, 0, 0, time.UTC)
			cfg := &config.Config{Hash: "abc"}
			cfg.Maintenance.Enabled, cfg.Maintenance.Until = true, &until
			a.mu.Lock()
			a.cfg = cfg
			a.mu.Unlock()
			a.clientEvent(client.MaintRequested{MaintRequest: client.MaintRequest{Target: "r2"}})
		}, `{"level":"INFO","msg":"MAINT_EXIT api: maintenance.until 2020-01-01T06:00:00Z has passed","event":"MAINT_EXIT_REQUESTED","reason":"maintenance.until 2020-01-01T06:00:00Z has passed","routes":["api"],"target":"r2"}`},
		{"config validated, no changes", func(a *Agent) {
			a.mu.Lock()
			a.cfg = &config.Config{Hash: "abc"}
			a.mu.Unlock()
			a.update(config.Update{Config: &config.Config{Hash: "abc"}, Hash: "abc", Routes: 0})
		}, `{"level":"INFO","msg":"config is valid; no changes to apply","event":"CONFIG_VALIDATED","file":"registry.yaml","hash":"abc","routes":0}`},
		{"config invalid at start", func(a *Agent) {
			a.reportInvalid(config.Update{Err: invalid, Hash: "def"}, true)
		}, `{"level":"WARN","msg":"config is invalid; nothing is sent until it is fixed","event":"CONFIG_INVALID","errors":["registry.yaml:3:5: routes[0].path: must start with /"],"file":"registry.yaml","hash":"def"}`},
		{"address missing", report(AddressMissing{Err: errors.New("no address of this host is in service.ip_cidr 10.0.0.0/8")}),
			`{"level":"WARN","msg":"the file uses ${SELF_IP} and this host has no address for it; nothing is registered until one appears (or set SELF_IP or --self-ip)","event":"LOG","err":"no address of this host is in service.ip_cidr 10.0.0.0/8"}`},
		{"address found", report(AddressFound{IP: "10.1.2.3"}),
			`{"level":"INFO","msg":"own address found; registering","event":"LOG","self_ip":"10.1.2.3"}`},
		{"restart needed, one setting", func(a *Agent) {
			a.mu.Lock()
			a.cfg = &config.Config{Hash: "abc"}
			a.mu.Unlock()
			cfg := &config.Config{Hash: "abd"}
			cfg.Proxy.KeepaliveInterval = config.Duration(time.Second)
			cfg.Proxy.Backoff.Max = config.Duration(time.Minute)
			a.update(config.Update{Config: cfg, Hash: "abd", Routes: 0})
		}, `{"level":"INFO","msg":"config is valid; no changes to apply","event":"CONFIG_VALIDATED","file":"registry.yaml","hash":"abd","routes":0}` + "\n" +
			`{"level":"WARN","msg":"changed settings take effect when the agent restarts: proxy.keepalive_interval, proxy.backoff.max","event":"LOG","keys":["proxy.keepalive_interval","proxy.backoff.max"]}`},
		{"watch stopped", report(WatchStopped{Err: errors.New("too many open files")}),
			`{"level":"ERROR","msg":"config watch stopped; SIGHUP still reloads","event":"ERROR","err":"too many open files"}`},
		{"maint page serving", report(PageServing{Address: "[::]:8081", URL: "http://10.0.0.1:8081/"}),
			`{"level":"INFO","msg":"serving the maintenance page","event":"MAINT_PAGE_SERVING","address":"[::]:8081","page_url":"http://10.0.0.1:8081/"}`},
		{"maint page stopped", report(PageStopped{Address: "[::]:8081"}),
			`{"level":"INFO","msg":"maintenance page server stopped","event":"MAINT_PAGE_STOPPED","address":"[::]:8081"}`},
		{"maint page serve failed", report(PageServeFailed{Address: ":8081", Err: errors.New("cannot serve the maintenance page: listen tcp :8081: bind: address already in use")}),
			`{"level":"ERROR","msg":"cannot serve the maintenance page; the proxy's check of it fails until it can","event":"ERROR","address":":8081","err":"cannot serve the maintenance page: listen tcp :8081: bind: address already in use"}`},
		{"maint page loaded", report(maintpage.TemplateEvent{File: "/etc/regagent/page.html", Hash: "abc"}),
			`{"level":"INFO","msg":"maintenance page file loaded","event":"MAINT_PAGE_LOADED","file":"/etc/regagent/page.html","hash":"abc"}`},
		{"maint page invalid", report(maintpage.TemplateEvent{File: "/etc/regagent/page.html", Hash: "abd", Err: errors.New("cannot parse maintenance page: unexpected \"}\"")}),
			`{"level":"WARN","msg":"maintenance page file is unusable; the last good page stays","event":"MAINT_PAGE_INVALID","file":"/etc/regagent/page.html","hash":"abd","err":"cannot parse maintenance page: unexpected \"}\""}`},
	}
}

func counter(t *testing.T, a *Agent, name, label string) float64 {
	t.Helper()
	mfs, err := a.opts.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func histogramCount(t *testing.T, a *Agent, name string) uint64 {
	t.Helper()
	mfs, err := a.opts.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}
