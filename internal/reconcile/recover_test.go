package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"regagent/internal/client"
)

// flakyConn fails the first sendFails Sends and listFails ListRoutes before
// they reach the server: a lost write and a lost read on a session that
// stays the same.
type flakyConn struct {
	*client.Client
	sendFails, listFails int
}

func (c *flakyConn) Send(ctx context.Context, b *client.Batch) ([]client.Result, error) {
	if c.sendFails > 0 {
		c.sendFails--
		return nil, fmt.Errorf("injected: %w", client.ErrDisconnected)
	}
	return c.Client.Send(ctx, b)
}

func (c *flakyConn) ListRoutes(ctx context.Context) ([]client.RouteInfo, error) {
	if c.listFails > 0 {
		c.listFails--
		return nil, fmt.Errorf("injected: %w", client.ErrDisconnected)
	}
	return c.Client.ListRoutes(ctx)
}

// After a failed execution whose re-read failed too, the next pass rolls
// back and re-reads; once that succeeds, later passes send nothing more
// for it (planner rule 8, docs/planner.md).
func TestRecoveryReadsOnce(t *testing.T) {
	h := newHarness(t)
	d := desired(conf(rt("web", "example.com", "/", "http://w")))
	h.r.pass.conn = &flakyConn{Client: h.cl, sendFails: 1, listFails: 1}
	if err := h.try(d); err == nil {
		t.Fatal("the first pass did not fail")
	}
	if _, err := h.r.Reconcile(h.ctx); err != nil {
		t.Fatalf("recovering pass: %v", err)
	}
	h.check(d, h.r.opts.Now())
	h.srv.ResetCommands()
	if _, err := h.r.Reconcile(h.ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.srv.Commands(); slices.ContainsFunc(got, func(l string) bool {
		return strings.HasPrefix(l, "ROUTE_LIST") || strings.HasPrefix(l, "CONFIG_ROLLBACK")
	}) {
		t.Fatalf("a pass after the recovery read again: %q", got)
	}
}
