package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Test conveniences: one command over Do (or a one-command Send), its reply
// checked and decoded. The agent needs none of them; the tests use them to
// set the registry up and to look at it.

// addRaw appends cmd to b as it is.
func addRaw(b *Batch, cmd Command) int { return b.add(cmd) }

func ping(ctx context.Context, c *Client) error {
	if _, err := c.expect(ctx, Command{Name: "PING"}, "PONG"); err != nil {
		return fmt.Errorf("cannot ping: %w", err)
	}
	return nil
}

func addRoute(ctx context.Context, c *Client, rt Route) (string, error) {
	var b Batch
	i := b.RouteAdd(rt)
	res, err := c.Send(ctx, &b)
	if err == nil {
		err = res[i].Err
	}
	if err == nil && res[i].Reply.Kind != "ROUTE_OK" {
		err = fmt.Errorf("%w: ROUTE_ADD answered %s", ErrProtocol, res[i].Reply.Kind)
	}
	if err != nil {
		return "", fmt.Errorf("cannot add route: %w", err)
	}
	return res[i].Reply.Payload, nil
}

// addRoutes stages rs with as many ROUTE_ADD_BULK commands as the line
// budget needs, in one write.
func addRoutes(ctx context.Context, c *Client, rs []Route) ([]string, error) {
	var b Batch
	ref := b.RouteAddBulk(rs)
	res, err := c.Send(ctx, &b)
	if err != nil {
		return nil, fmt.Errorf("cannot add routes: %w", err)
	}
	ids, err := ref.IDs(res)
	if err != nil {
		return ids, fmt.Errorf("cannot add routes: %w", err)
	}
	return ids, nil
}

// do1 sends the one command build adds to a batch and checks its reply kind.
func do1(ctx context.Context, c *Client, build func(*Batch) int, kind string) error {
	var b Batch
	build(&b)
	if err := b.err; err != nil {
		return err
	}
	_, err := c.expect(ctx, b.cmds[0], kind)
	return err
}

func updateRoute(ctx context.Context, c *Client, id, field, value string) error {
	return do1(ctx, c, func(b *Batch) int { return b.RouteUpdate(id, field, value) }, "ROUTE_OK")
}

func removeRoute(ctx context.Context, c *Client, id string) error {
	return do1(ctx, c, func(b *Batch) int { return b.RouteRemove(id) }, "ROUTE_OK")
}

func setHeader(ctx context.Context, c *Client, name, value string) error {
	return do1(ctx, c, func(b *Batch) int { return b.HeaderSet(name, value) }, "HEADERS_OK")
}

func validateConfig(ctx context.Context, c *Client) error {
	return do1(ctx, c, func(b *Batch) int { return addRaw(b, Command{Name: "CONFIG_VALIDATE"}) }, "OK")
}

func applyConfig(ctx context.Context, c *Client) error {
	return do1(ctx, c, (*Batch).Apply, "OK")
}

func rollbackConfig(ctx context.Context, c *Client) error {
	return do1(ctx, c, (*Batch).Rollback, "OK")
}

func decodeReply(r Reply, kind string, v any) error {
	if r.Kind != kind {
		return fmt.Errorf("%w: got %s, want %s", ErrProtocol, r.Kind, kind)
	}
	if err := json.Unmarshal([]byte(r.Payload), v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrProtocol, kind, err)
	}
	return nil
}

// backendTestResult is BACKEND_TEST's answer; an unreachable backend is a
// result, not an error.
type backendTestResult struct {
	Reachable bool   `json:"reachable"`
	Error     string `json:"error"`
}

func backendTest(ctx context.Context, c *Client, url string) (backendTestResult, error) {
	var res backendTestResult
	r, err := c.expect(ctx, Command{Name: "BACKEND_TEST", Args: []string{url}}, "BACKEND_OK", "BACKEND_FAIL")
	if err == nil {
		err = decodeReply(r, r.Kind, &res)
	}
	return res, err
}

func drainStatus(ctx context.Context, c *Client) (json.RawMessage, error) {
	r, err := c.expect(ctx, Command{Name: "DRAIN_STATUS"}, "DRAIN_STATUS_OK")
	if err != nil {
		return nil, err
	}
	return json.RawMessage(r.Payload), nil
}

// maintenanceStatus lists the targets the server reports in maintenance for
// this session (sorted; the server's order is random, §5).
func maintenanceStatus(ctx context.Context, c *Client) ([]string, error) {
	ids, err := c.MaintenanceStatus(ctx)
	slices.Sort(ids)
	return ids, err
}

// sessionInfo is SESSION_INFO's answer.
type sessionInfo struct {
	SessionID    string            `json:"session_id"`
	ServiceName  string            `json:"service_name"`
	Metadata     map[string]string `json:"metadata"`
	RoutesActive int               `json:"routes_active"`
	RoutesStaged int               `json:"routes_staged"`
}

func getSessionInfo(ctx context.Context, c *Client) (sessionInfo, error) {
	var si sessionInfo
	r, err := c.Do(ctx, Command{Name: "SESSION_INFO"})
	if err == nil {
		err = decodeReply(r, "SESSION_OK", &si)
	}
	return si, err
}
