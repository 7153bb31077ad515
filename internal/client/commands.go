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

// registerCommand is the REGISTER of this client's identity (§2).
func (c *Client) registerCommand() Command {
	return Command{Name: "REGISTER", Args: []string{
		c.opts.Service, c.opts.Instance, strconv.Itoa(c.opts.MaintenancePort), c.metadata,
	}}
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

// MaintenanceStatus is MAINT_STATUS: the targets the server lists in
// maintenance for this session, in no particular order (§5). It lists what
// this session entered and has not left, whatever it designates: the ids
// of routes removed since stay listed (§9), ALL is listed as the route ids
// it covered when entered.
func (c *Client) MaintenanceStatus(ctx context.Context) ([]string, error) {
	r, err := c.expect(ctx, Command{Name: "MAINT_STATUS"}, "MAINT_STATUS_OK")
	var v struct {
		InMaintenance []string `json:"in_maintenance"`
	}
	if err == nil {
		if jerr := json.Unmarshal([]byte(r.Payload), &v); jerr != nil {
			err = fmt.Errorf("%w: MAINT_STATUS_OK: %v", ErrProtocol, jerr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read maintenance status: %w", err)
	}
	return v.InMaintenance, nil
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
