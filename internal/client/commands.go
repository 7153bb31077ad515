package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Route is a route to stage.
type Route struct {
	Domains  []string
	Path     string
	Backend  string
	Priority int // sent, but ignored by the proxy (§4)
}

// RouteInfo is one entry of ROUTE_LIST. An updated active route appears twice
// (active and staged copy); staged removals still read active (§3).
type RouteInfo struct {
	ID       string   `json:"route_id"`
	Domains  []string `json:"domains"`
	Path     string   `json:"path"`
	Backend  string   `json:"backend"`
	Priority int      `json:"priority"`
	Status   string   `json:"status"` // "active" or "staged"
}

// Diff is CONFIG_DIFF's summary: counts only (§3).
type Diff struct {
	Headers int `json:"headers"`
	Options int `json:"options"`
	Routes  struct {
		Added   int `json:"added"`
		Removed int `json:"removed"`
	} `json:"routes"`
}

// SessionInfo is SESSION_INFO's answer; Raw holds the JSON as received.
type SessionInfo struct {
	SessionID     string            `json:"session_id"`
	ServiceName   string            `json:"service_name"`
	InstanceName  string            `json:"instance_name"`
	Metadata      map[string]string `json:"metadata"`
	RoutesActive  int               `json:"routes_active"`
	RoutesStaged  int               `json:"routes_staged"`
	UptimeSeconds float64           `json:"uptime_seconds"`
	Raw           json.RawMessage   `json:"-"`
}

// BackendTestResult is BACKEND_TEST's answer; an unreachable backend is a
// result, not an error.
type BackendTestResult struct {
	Reachable bool            `json:"reachable"`
	Error     string          `json:"error"`
	Raw       json.RawMessage `json:"-"`
}

// expect does cmd and checks the reply kind.
func (c *Client) expect(ctx context.Context, cmd Command, kinds ...string) (Reply, error) {
	r, err := c.Do(ctx, cmd)
	if err != nil {
		return r, err
	}
	for _, k := range kinds {
		if r.Kind == k {
			return r, nil
		}
	}
	return r, fmt.Errorf("%w: %s answered %s, want %s", ErrProtocol, cmd.Name, r.Kind, strings.Join(kinds, " or "))
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

// registerCommand is the REGISTER of this client's identity (§2).
func (c *Client) registerCommand() Command {
	return Command{Name: "REGISTER", Args: []string{
		c.opts.Service, c.opts.Instance, strconv.Itoa(c.opts.MaintenancePort), c.metadata,
	}}
}

// Register sends REGISTER on the current connection. Run does this itself;
// calling it again replaces the session (§2) and increments Generation.
func (c *Client) Register(ctx context.Context) (string, error) {
	r, err := c.expect(ctx, c.registerCommand(), "ACK")
	if err != nil {
		return "", fmt.Errorf("cannot register: %w", err)
	}
	c.mu.Lock()
	c.sid = r.Payload
	c.gen++
	c.mu.Unlock()
	return r.Payload, nil
}

// Ping sends PING and waits for PONG.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.expect(ctx, Command{Name: "PING"}, "PONG"); err != nil {
		return fmt.Errorf("cannot ping: %w", err)
	}
	return nil
}

// AddRoute stages one route and returns its id.
func (c *Client) AddRoute(ctx context.Context, rt Route) (string, error) {
	cmd, err := routeAddCommand(rt)
	if err == nil {
		var r Reply
		if r, err = c.expect(ctx, cmd, "ROUTE_OK"); err == nil {
			return r.Payload, nil
		}
	}
	return "", fmt.Errorf("cannot add route: %w", err)
}

// AddRoutes stages routes with as many ROUTE_ADD_BULK commands as the line
// budget needs, in one write; ids[i] is the id of rs[i] ("" if its command
// failed, see BulkRef.IDs).
func (c *Client) AddRoutes(ctx context.Context, rs []Route) ([]string, error) {
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

// do1 runs the single command a Batch method builds and checks its reply.
func (c *Client) do1(ctx context.Context, what string, build func(*Batch) int, kind string) error {
	var b Batch
	build(&b)
	if _, err := c.expect(ctx, b.cmds[0], kind); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	return nil
}

// UpdateRoute changes one field of a route (§3; mind §4 before using it).
func (c *Client) UpdateRoute(ctx context.Context, id, field, value string) error {
	return c.do1(ctx, "update route", func(b *Batch) int { return b.RouteUpdate(id, field, value) }, "ROUTE_OK")
}

// RemoveRoute stages the removal of a route.
func (c *Client) RemoveRoute(ctx context.Context, id string) error {
	return c.do1(ctx, "remove route", func(b *Batch) int { return b.RouteRemove(id) }, "ROUTE_OK")
}

// ListRoutes lists the session's active and staged routes.
func (c *Client) ListRoutes(ctx context.Context) ([]RouteInfo, error) {
	r, err := c.Do(ctx, Command{Name: "ROUTE_LIST"})
	var out []RouteInfo
	if err == nil && r.Kind != "ROUTE_LIST_OK" {
		err = fmt.Errorf("%w: got %s, want ROUTE_LIST_OK", ErrProtocol, r.Kind)
	}
	if err == nil {
		out, err = decodeRoutes(r.Payload)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list routes: %w", err)
	}
	return out, nil
}

// SetHealth stages a health check (see Batch.HealthSet for the §4 quirks).
func (c *Client) SetHealth(ctx context.Context, id, path string, interval, timeout time.Duration) error {
	return c.do1(ctx, "set health check", func(b *Batch) int { return b.HealthSet(id, path, interval, timeout) }, "HEALTH_OK")
}

// SetOption stages a service-wide option.
func (c *Client) SetOption(ctx context.Context, key, value string) error {
	return c.do1(ctx, "set option", func(b *Batch) int { return b.OptionSet(key, value) }, "OPTIONS_OK")
}

// RemoveOption stages the removal of a service-wide option.
func (c *Client) RemoveOption(ctx context.Context, key string) error {
	return c.do1(ctx, "remove option", func(b *Batch) int { return b.OptionRemove(key) }, "OPTIONS_OK")
}

// SetHeader stages a service-wide header.
func (c *Client) SetHeader(ctx context.Context, name, value string) error {
	return c.do1(ctx, "set header", func(b *Batch) int { return b.HeaderSet(name, value) }, "HEADERS_OK")
}

// RemoveHeader stages the removal of a service-wide header.
func (c *Client) RemoveHeader(ctx context.Context, name string) error {
	return c.do1(ctx, "remove header", func(b *Batch) int { return b.HeaderRemove(name) }, "HEADERS_OK")
}

// SetRateLimit stages a rate limit (not enforced by the proxy, §3).
func (c *Client) SetRateLimit(ctx context.Context, id string, requests int, window time.Duration) error {
	return c.do1(ctx, "set rate limit", func(b *Batch) int { return b.RateLimit(id, requests, window) }, "RATELIMIT_OK")
}

// SetCircuitBreaker stages a circuit breaker.
func (c *Client) SetCircuitBreaker(ctx context.Context, id string, threshold int, timeout time.Duration, halfOpen int) error {
	return c.do1(ctx, "set circuit breaker", func(b *Batch) int { return b.CircuitBreaker(id, threshold, timeout, halfOpen) }, "CIRCUIT_OK")
}

// ValidateConfig checks the staged configuration.
func (c *Client) ValidateConfig(ctx context.Context) error {
	return c.do1(ctx, "validate config", (*Batch).Validate, "OK")
}

// ApplyConfig applies the staged configuration. An error may mean a partial
// apply (§3): routes before the failing one are live.
func (c *Client) ApplyConfig(ctx context.Context) error {
	return c.do1(ctx, "apply config", (*Batch).Apply, "OK")
}

// RollbackConfig drops everything staged.
func (c *Client) RollbackConfig(ctx context.Context) error {
	return c.do1(ctx, "roll back config", (*Batch).Rollback, "OK")
}

// ConfigDiff summarizes what is staged.
func (c *Client) ConfigDiff(ctx context.Context) (Diff, error) {
	var d Diff
	r, err := c.Do(ctx, Command{Name: "CONFIG_DIFF"})
	if err == nil {
		err = decodeReply(r, "DIFF_OK", &d)
	}
	if err != nil {
		return Diff{}, fmt.Errorf("cannot diff config: %w", err)
	}
	return d, nil
}

// DrainStart starts draining for d and returns when the drain completes.
func (c *Client) DrainStart(ctx context.Context, d time.Duration) (time.Time, error) {
	r, err := c.expect(ctx, Command{Name: "DRAIN_START", Args: []string{duration(d)}}, "DRAIN_OK")
	var t time.Time
	if err == nil {
		if t, err = time.Parse(time.RFC3339Nano, r.Payload); err != nil {
			err = fmt.Errorf("%w: drain completion %q", ErrProtocol, r.Payload)
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot start drain: %w", err)
	}
	return t, nil
}

// DrainStatus returns the drain status JSON; with no drain in progress the
// server answers an error (§6).
func (c *Client) DrainStatus(ctx context.Context) (json.RawMessage, error) {
	r, err := c.expect(ctx, Command{Name: "DRAIN_STATUS"}, "DRAIN_STATUS_OK")
	if err != nil {
		return nil, fmt.Errorf("cannot read drain status: %w", err)
	}
	return json.RawMessage(r.Payload), nil
}

// DrainCancel cancels a drain.
func (c *Client) DrainCancel(ctx context.Context) error {
	if _, err := c.expect(ctx, Command{Name: "DRAIN_CANCEL"}, "DRAIN_OK"); err != nil {
		return fmt.Errorf("cannot cancel drain: %w", err)
	}
	return nil
}

// Stats returns the STATS_GET JSON for all routes.
func (c *Client) Stats(ctx context.Context) (json.RawMessage, error) {
	r, err := c.expect(ctx, Command{Name: "STATS_GET", Args: []string{"ALL"}}, "STATS_OK")
	if err != nil {
		return nil, fmt.Errorf("cannot read stats: %w", err)
	}
	return json.RawMessage(r.Payload), nil
}

// BackendTest asks the server to probe url.
func (c *Client) BackendTest(ctx context.Context, url string) (BackendTestResult, error) {
	var res BackendTestResult
	r, err := c.expect(ctx, Command{Name: "BACKEND_TEST", Args: []string{url}}, "BACKEND_OK", "BACKEND_FAIL")
	if err == nil {
		err = decodeReply(r, r.Kind, &res)
	}
	if err != nil {
		return BackendTestResult{}, fmt.Errorf("cannot test backend: %w", err)
	}
	res.Raw = json.RawMessage(r.Payload)
	return res, nil
}

// SessionInfo describes the current session.
func (c *Client) SessionInfo(ctx context.Context) (SessionInfo, error) {
	var si SessionInfo
	r, err := c.Do(ctx, Command{Name: "SESSION_INFO"})
	if err == nil {
		err = decodeReply(r, "SESSION_OK", &si)
	}
	if err != nil {
		return SessionInfo{}, fmt.Errorf("cannot read session info: %w", err)
	}
	si.Raw = json.RawMessage(r.Payload)
	return si, nil
}

// Subscribe asks for server events of typ (§6: documented, never seen; they
// would arrive as EventServer).
func (c *Client) Subscribe(ctx context.Context, typ string) error {
	if _, err := c.expect(ctx, Command{Name: "SUBSCRIBE", Args: []string{typ}}, "SUBSCRIBE_OK"); err != nil {
		return fmt.Errorf("cannot subscribe: %w", err)
	}
	return nil
}

// observe sees every reply, whoever sent the command and even if the
// sender stopped waiting. It runs on the reader goroutine and only enqueues.
func (c *Client) observe(_ Command, res Result) {
	if errors.Is(res.Err, ErrSessionNotFound) {
		c.sessionReplaced()
	}
}

// sessionReplaced reports, once per session, that the server no longer knows
// it while the connection lives: another client registered the same service
// and instance (§2). PING still answers, so nothing else would tell. The
// client does not register again: that would evict the other one in turn.
func (c *Client) sessionReplaced() {
	c.mu.Lock()
	first := c.replaced != c.gen
	c.replaced = c.gen
	sid := c.sid
	c.mu.Unlock()
	if first {
		c.emit(SessionReplaced{SessionID: sid})
	}
}
