package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestCommandsSuccess: every command of the protocol round-trips through
// Do against the registry, with the reply the agent would expect.
func TestCommandsSuccess(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)

	if err := ping(ctx, c); err != nil {
		t.Fatalf("PING: %v", err)
	}
	id, err := addRoute(ctx, c, Route{Domains: []string{"a.example.com"}, Path: "/api", Backend: "http://10.0.0.1:3000", Priority: 10})
	if err != nil || !strings.HasPrefix(id, "r") {
		t.Fatalf("ROUTE_ADD = %q, %v", id, err)
	}
	ids, err := addRoutes(ctx, c, []Route{
		{Domains: []string{"b.example.com"}, Path: "/", Backend: "http://10.0.0.2:3000"},
		{Domains: []string{"c.example.com"}, Path: "/", Backend: "http://10.0.0.3:3000"},
	})
	if err != nil || len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("ROUTE_ADD_BULK = %q, %v", ids, err)
	}
	do := func(kind, name string, args ...string) Reply {
		t.Helper()
		r, err := c.Do(ctx, Command{Name: name, Args: args})
		if err != nil || r.Kind != kind {
			t.Fatalf("%s = %+v, %v; want %s", name, r, err, kind)
		}
		return r
	}
	var b Batch
	b.RouteUpdate(ids[0], "priority", "5")
	b.HealthSet(id, "health", 10*time.Second, 2*time.Second)
	b.OptionSet("timeout", "30s")
	b.HeaderSet("X-Service", "svc")
	for _, cmd := range b.cmds {
		do(map[string]string{"ROUTE_UPDATE": "ROUTE_OK", "HEALTH_SET": "HEALTH_OK", "OPTIONS_SET": "OPTIONS_OK",
			"HEADERS_SET": "HEADERS_OK"}[cmd.Name], cmd.Name, cmd.Args...)
	}
	do("OPTIONS_OK", "OPTIONS_REMOVE", "ALL", "timeout")
	do("HEADERS_OK", "HEADERS_REMOVE", "ALL", "X-Gone")
	do("RATELIMIT_OK", "RATELIMIT_SET", id, "100", "1m0s")
	do("CIRCUIT_OK", "CIRCUIT_BREAKER_SET", id, "5", "30s", "2")
	do("OK", "CONFIG_VALIDATE")
	do("SUBSCRIBE_OK", "SUBSCRIBE", "route")
	var d struct {
		Routes struct {
			Added int `json:"added"`
		} `json:"routes"`
	}
	if err := decodeReply(do("DIFF_OK", "CONFIG_DIFF"), "DIFF_OK", &d); err != nil || d.Routes.Added != 3 {
		t.Fatalf("CONFIG_DIFF = %+v, %v", d, err)
	}
	if err := applyConfig(ctx, c); err != nil {
		t.Fatalf("CONFIG_APPLY: %v", err)
	}
	if got := sim.Resolve("a.example.com", "/api/x"); got.Backend != "http://10.0.0.1:3000" || got.Headers["X-Service"] != "svc" {
		t.Fatalf("Resolve = %+v", got)
	}
	routes, err := c.ListRoutes(ctx)
	if err != nil || len(routes) != 3 {
		t.Fatalf("ListRoutes = %+v, %v", routes, err)
	}
	if err := removeRoute(ctx, c, ids[1]); err != nil {
		t.Fatalf("ROUTE_REMOVE: %v", err)
	}
	if err := rollbackConfig(ctx, c); err != nil {
		t.Fatalf("CONFIG_ROLLBACK: %v", err)
	}
	ends, err := c.DrainStart(ctx, time.Minute)
	if err != nil || ends.Before(time.Now()) {
		t.Fatalf("DrainStart = %v, %v", ends, err)
	}
	if st, err := drainStatus(ctx, c); err != nil || len(st) == 0 {
		t.Fatalf("DRAIN_STATUS = %s, %v", st, err)
	}
	do("DRAIN_OK", "DRAIN_CANCEL")
	if st := do("STATS_OK", "STATS_GET", "ALL"); !strings.HasPrefix(st.Payload, "[") {
		t.Fatalf("STATS_GET = %s", st.Payload)
	}
	if bt, err := backendTest(ctx, c, "http://10.0.0.1:3000"); err != nil || !bt.Reachable {
		t.Fatalf("BACKEND_TEST = %+v, %v", bt, err)
	}
	si, err := getSessionInfo(ctx, c)
	if err != nil || si.SessionID != c.SessionID() || si.ServiceName != "svc" || si.Metadata["version"] != "1" || si.RoutesActive != 3 {
		t.Fatalf("SESSION_INFO = %+v, %v", si, err)
	}
	if st, err := maintenanceStatus(ctx, c); err != nil || len(st) != 0 {
		t.Fatalf("MAINT_STATUS = %q, %v", st, err)
	}
}

func TestCommandsServerErrors(t *testing.T) {
	unreachable := registrysim.CheckerFunc(func(context.Context, string) error { return errors.New("refused") })
	sim := startSim(t, registrysim.Options{Checker: unreachable})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	good, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		call    func() error
		command string
		message string
	}{
		{"AddRoute empty path", func() error {
			_, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Backend: "http://x"})
			return err
		}, "ROUTE_ADD", "path cannot be empty"},
		{"AddRoute bad url", func() error {
			_, err := addRoute(ctx, c, Route{Path: "/", Backend: "nourl"})
			return err
		}, "ROUTE_ADD", "invalid backend url format"},
		{"AddRoutes invalid entry", func() error {
			_, err := addRoutes(ctx, c, []Route{{Path: "/ok", Backend: "http://x"}, {Path: "", Backend: "http://x"}})
			return err
		}, "ROUTE_ADD_BULK", ""},
		{"UpdateRoute unknown field", func() error { return updateRoute(ctx, c, good, "colour", "red") }, "ROUTE_UPDATE", "unknown field"},
		{"UpdateRoute unknown route", func() error { return updateRoute(ctx, c, "r999", "priority", "1") }, "ROUTE_UPDATE", "route not found"},
		{"RemoveRoute unknown", func() error { return removeRoute(ctx, c, "r999") }, "ROUTE_REMOVE", "route not found"},
		{"route options", func() error {
			_, err := c.Do(ctx, Command{Name: "OPTIONS_SET", Args: []string{good, "timeout", "1s"}})
			return err
		}, "OPTIONS_SET", "route-specific options not yet supported"},
		{"lower-case all", func() error {
			_, err := c.Do(ctx, Command{Name: "HEADERS_SET", Args: []string{"all", "X", "1"}})
			return err
		}, "HEADERS_SET", "route-specific headers not yet supported"},
		{"DrainStatus none", func() error { _, err := drainStatus(ctx, c); return err }, "DRAIN_STATUS", "no drain in progress"},
		{"unknown command", func() error { _, err := c.Do(ctx, Command{Name: "ping"}); return err }, "ping", "unknown command: ping"},
		{"too few fields", func() error { _, err := c.Do(ctx, Command{Name: "ROUTE_REMOVE"}); return err }, "ROUTE_REMOVE", "invalid format"},
	} {
		err := tc.call()
		var se *ServerError
		if !errors.As(err, &se) {
			t.Errorf("%s: err=%v, want *ServerError", tc.name, err)
			continue
		}
		if se.Command != tc.command || (tc.message != "" && se.Message != tc.message) {
			t.Errorf("%s: got %s %q, want %s %q", tc.name, se.Command, se.Message, tc.command, tc.message)
		}
	}
	// An empty path can only be staged by update; validate and apply refuse it.
	if err := updateRoute(ctx, c, good, "path", ""); err != nil {
		t.Fatalf("UpdateRoute path: %v", err)
	}
	var se *ServerError
	if err := validateConfig(ctx, c); !errors.As(err, &se) || se.Command != "CONFIG_VALIDATE" || !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ValidateConfig: %v", err)
	}
	if err := applyConfig(ctx, c); !errors.As(err, &se) || se.Command != "CONFIG_APPLY" || !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ApplyConfig: %v", err)
	}
	if bt, err := backendTest(ctx, c, "http://down:1"); err != nil || bt.Reachable || bt.Error == "" {
		t.Errorf("BackendTest down = %+v, %v", bt, err)
	}
}

func TestCommandsWhenNotConnected(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx := ctxT(t)
	if _, err := addRoute(ctx, h.c, Route{Path: "/", Backend: "http://x"}); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("AddRoute: %v, want ErrDisconnected", err)
	}
	if _, err := addRoute(ctx, h.c, Route{Path: "/|", Backend: "http://x"}); !errors.Is(err, ErrUnsafeField) {
		t.Fatalf("unsafe AddRoute: %v, want ErrUnsafeField", err)
	}
	if err := h.c.Deregister(ctx); err != nil {
		t.Fatalf("Deregister without a connection: %v", err)
	}
	if err := ping(ctx, h.c); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Deregister: %v, want ErrClosed", err)
	}
	if err := h.c.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Deregister: %v, want ErrClosed", err)
	}
}

// TestSendMixedBatch: one Send of every kind of staging command returns
// each reply in order, and the bulk ids map back to their routes.
func TestSendMixedBatch(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)

	id, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	i := b.RouteAdd(Route{Domains: []string{"b.com"}, Path: "/", Backend: "http://x:2"})
	ref := b.RouteAddBulk([]Route{{Domains: []string{"c.com"}, Path: "/c", Backend: "http://x:3"}, {Domains: []string{"d.com"}, Path: "/d", Backend: "http://x:4"}})
	b.HealthSet(id, "health", time.Second, time.Second)
	b.RouteRemove(id)
	addRaw(&b, Command{Name: "CONFIG_VALIDATE"})
	b.Apply()
	res, err := c.Send(ctx, &b)
	if err != nil || len(res) != b.Len() {
		t.Fatalf("Send = %v, %v", res, err)
	}
	bulk, err := ref.IDs(res)
	if err != nil || len(bulk) != 2 {
		t.Fatalf("bulk ids %q, %v", bulk, err)
	}
	if ids := []string{res[i].Reply.Payload, bulk[0], bulk[1]}; ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("route ids %q, want three distinct", ids)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Reply.Kind)
	}
	if want := []string{"ROUTE_OK", "ROUTE_BULK_OK", "HEALTH_OK", "ROUTE_OK", "OK", "OK"}; !slices.Equal(got, want) {
		t.Fatalf("reply kinds %q, want %q", got, want)
	}
}
