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

func TestCommandsSuccess(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)

	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	id, err := c.AddRoute(ctx, Route{Domains: []string{"a.example.com"}, Path: "/api", Backend: "http://10.0.0.1:3000", Priority: 10})
	if err != nil || !strings.HasPrefix(id, "r") {
		t.Fatalf("AddRoute = %q, %v", id, err)
	}
	ids, err := c.AddRoutes(ctx, []Route{
		{Domains: []string{"b.example.com"}, Path: "/", Backend: "http://10.0.0.2:3000"},
		{Domains: []string{"c.example.com"}, Path: "/", Backend: "http://10.0.0.3:3000"},
	})
	if err != nil || len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("AddRoutes = %q, %v", ids, err)
	}
	steps := []struct {
		name string
		err  error
	}{
		{"UpdateRoute", c.UpdateRoute(ctx, ids[0], "priority", "5")},
		{"SetHealth", c.SetHealth(ctx, id, "health", 10*time.Second, 2*time.Second)},
		{"SetOption", c.SetOption(ctx, "timeout", "30s")},
		{"RemoveOption", c.RemoveOption(ctx, "timeout")},
		{"SetHeader", c.SetHeader(ctx, "X-Service", "svc")},
		{"RemoveHeader", c.RemoveHeader(ctx, "X-Gone")},
		{"SetRateLimit", c.SetRateLimit(ctx, id, 100, time.Minute)},
		{"SetCircuitBreaker", c.SetCircuitBreaker(ctx, id, 5, 30*time.Second, 2)},
		{"ValidateConfig", c.ValidateConfig(ctx)},
		{"Subscribe", c.Subscribe(ctx, "route")},
	}
	for _, s := range steps {
		if s.err != nil {
			t.Fatalf("%s: %v", s.name, s.err)
		}
	}
	d, err := c.ConfigDiff(ctx)
	if err != nil || d.Routes.Added != 3 {
		t.Fatalf("ConfigDiff = %+v, %v", d, err)
	}
	if err := c.ApplyConfig(ctx); err != nil {
		t.Fatalf("ApplyConfig: %v", err)
	}
	if got := sim.Resolve("a.example.com", "/api/x"); got.Backend != "http://10.0.0.1:3000" || got.Headers["X-Service"] != "svc" {
		t.Fatalf("Resolve = %+v", got)
	}
	routes, err := c.ListRoutes(ctx)
	if err != nil || len(routes) != 3 {
		t.Fatalf("ListRoutes = %+v, %v", routes, err)
	}
	if err := c.RemoveRoute(ctx, ids[1]); err != nil {
		t.Fatalf("RemoveRoute: %v", err)
	}
	if err := c.RollbackConfig(ctx); err != nil {
		t.Fatalf("RollbackConfig: %v", err)
	}
	ends, err := c.DrainStart(ctx, time.Minute)
	if err != nil || ends.Before(time.Now()) {
		t.Fatalf("DrainStart = %v, %v", ends, err)
	}
	if st, err := c.DrainStatus(ctx); err != nil || len(st) == 0 {
		t.Fatalf("DrainStatus = %s, %v", st, err)
	}
	if err := c.DrainCancel(ctx); err != nil {
		t.Fatalf("DrainCancel: %v", err)
	}
	if st, err := c.Stats(ctx); err != nil || !strings.HasPrefix(string(st), "[") {
		t.Fatalf("Stats = %s, %v", st, err)
	}
	if bt, err := c.BackendTest(ctx, "http://10.0.0.1:3000"); err != nil || !bt.Reachable {
		t.Fatalf("BackendTest = %+v, %v", bt, err)
	}
	si, err := c.SessionInfo(ctx)
	if err != nil || si.SessionID != c.SessionID() || si.ServiceName != "svc" || si.Metadata["version"] != "1" || si.RoutesActive != 3 {
		t.Fatalf("SessionInfo = %+v, %v", si, err)
	}
	if st, err := c.MaintenanceStatus(ctx); err != nil || len(st) != 0 {
		t.Fatalf("MaintenanceStatus = %q, %v", st, err)
	}
}

func TestCommandsServerErrors(t *testing.T) {
	unreachable := registrysim.CheckerFunc(func(context.Context, string) error { return errors.New("refused") })
	sim := startSim(t, registrysim.Options{Checker: unreachable})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	good, err := c.AddRoute(ctx, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
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
			_, err := c.AddRoute(ctx, Route{Domains: []string{"a.com"}, Backend: "http://x"})
			return err
		}, "ROUTE_ADD", "path cannot be empty"},
		{"AddRoute bad url", func() error {
			_, err := c.AddRoute(ctx, Route{Path: "/", Backend: "nourl"})
			return err
		}, "ROUTE_ADD", "invalid backend url format"},
		{"AddRoutes invalid entry", func() error {
			_, err := c.AddRoutes(ctx, []Route{{Path: "/ok", Backend: "http://x"}, {Path: "", Backend: "http://x"}})
			return err
		}, "ROUTE_ADD_BULK", ""},
		{"UpdateRoute unknown field", func() error { return c.UpdateRoute(ctx, good, "colour", "red") }, "ROUTE_UPDATE", "unknown field"},
		{"UpdateRoute unknown route", func() error { return c.UpdateRoute(ctx, "r999", "priority", "1") }, "ROUTE_UPDATE", "route not found"},
		{"RemoveRoute unknown", func() error { return c.RemoveRoute(ctx, "r999") }, "ROUTE_REMOVE", "route not found"},
		{"route options", func() error {
			_, err := c.Do(ctx, Command{Name: "OPTIONS_SET", Args: []string{good, "timeout", "1s"}})
			return err
		}, "OPTIONS_SET", "route-specific options not yet supported"},
		{"lower-case all", func() error {
			_, err := c.Do(ctx, Command{Name: "HEADERS_SET", Args: []string{"all", "X", "1"}})
			return err
		}, "HEADERS_SET", "route-specific headers not yet supported"},
		{"DrainStatus none", func() error { _, err := c.DrainStatus(ctx); return err }, "DRAIN_STATUS", "no drain in progress"},
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
	if err := c.UpdateRoute(ctx, good, "path", ""); err != nil {
		t.Fatalf("UpdateRoute path: %v", err)
	}
	var se *ServerError
	if err := c.ValidateConfig(ctx); !errors.As(err, &se) || se.Command != "CONFIG_VALIDATE" || !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ValidateConfig: %v", err)
	}
	if err := c.ApplyConfig(ctx); !errors.As(err, &se) || se.Command != "CONFIG_APPLY" || !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ApplyConfig: %v", err)
	}
	if bt, err := c.BackendTest(ctx, "http://down:1"); err != nil || bt.Reachable || bt.Error == "" {
		t.Errorf("BackendTest down = %+v, %v", bt, err)
	}
}

func TestCommandsWhenNotConnected(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx := ctxT(t)
	if _, err := h.c.AddRoute(ctx, Route{Path: "/", Backend: "http://x"}); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("AddRoute: %v, want ErrDisconnected", err)
	}
	if _, err := h.c.AddRoute(ctx, Route{Path: "/|", Backend: "http://x"}); !errors.Is(err, ErrUnsafeField) {
		t.Fatalf("unsafe AddRoute: %v, want ErrUnsafeField", err)
	}
	if err := h.c.Close(ctx, true); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.c.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: %v, want ErrClosed", err)
	}
	if err := h.c.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

// TestSendMixedBatch: one Send of every kind of staging command returns
// each reply in order, and the bulk ids map back to their routes.
func TestSendMixedBatch(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)

	id, err := c.AddRoute(ctx, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	i := b.RouteAdd(Route{Domains: []string{"b.com"}, Path: "/", Backend: "http://x:2"})
	ref := b.RouteAddBulk([]Route{{Domains: []string{"c.com"}, Path: "/c", Backend: "http://x:3"}, {Domains: []string{"d.com"}, Path: "/d", Backend: "http://x:4"}})
	b.HealthSet(id, "health", time.Second, time.Second)
	b.RouteRemove(id)
	b.Validate()
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
