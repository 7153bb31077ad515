package reconcile

import (
	"context"
	"testing"
	"time"

	"regagent/internal/client"
)

// A plan is made for one session; a reconnect may register the next one at
// any moment. Route ids and route lists of one session must never be taken
// for the other's (§2, §7).

// reconnectConn drops the connection and waits for the client's next
// session just before the first Send of a pass: the plan was computed for
// the old session and is executed on the new one.
type reconnectConn struct {
	*client.Client
	h    *harness
	done bool
}

func (c *reconnectConn) Send(ctx context.Context, b *client.Batch) ([]client.Result, error) {
	if !c.done {
		c.done = true
		gen := c.Client.Generation()
		c.h.srv.DropConnections()
		c.h.waitGeneration(gen)
	}
	return c.Client.Send(ctx, b)
}

// A reconnect between planning and sending: the plan's ROUTE_REMOVE of the
// old session's id reaches the new session, gets "route not found", which
// the executor takes as success; the add goes to the new session. The old
// route stays in the proxy as an orphan (§7) that Applied no longer knows:
// the next pass moves only the new route to Orphans, so the old backend
// keeps the sub-paths for good (older entry wins equal prefixes, §4).
func TestReconnectBetweenPlanAndSend(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Hour // drift check on, next one not due (0 = never heals)
	d := desired(conf(rt("web", "example.com", "/", "http://old")))
	h.sync(d)

	d = desired(conf(rt("web", "example.com", "/", "http://new")))
	h.r.pass.conn = &reconnectConn{Client: h.cl, h: h}
	_ = h.try(d)
	h.r.pass.conn = h.cl
	// Whatever that pass said, the following passes must converge.
	for range 3 {
		_ = h.try(d)
	}
	h.sync(d)
	h.check(d, time.Now())
}

// Same race on the drift path: the drift re-read lists the new session's
// (empty) route list against the old session's Applied; Observe drops every
// route instead of keeping it as a possible orphan, so a backend change made
// in the same pass leaves the old backend serving sub-paths.
type listReconnectConn struct {
	*client.Client
	h    *harness
	done bool
}

func (c *listReconnectConn) ListRoutes(ctx context.Context) ([]client.RouteInfo, error) {
	if !c.done {
		c.done = true
		gen := c.Client.Generation()
		c.h.srv.DropConnections()
		c.h.waitGeneration(gen)
	}
	return c.Client.ListRoutes(ctx)
}

func TestReconnectDuringDriftRead(t *testing.T) {
	h := newHarness(t)
	h.drift = time.Nanosecond
	d := desired(conf(rt("web", "example.com", "/", "http://old")))
	h.sync(d)

	d = desired(conf(rt("web", "example.com", "/", "http://new")))
	h.r.pass.conn = &listReconnectConn{Client: h.cl, h: h}
	_ = h.try(d)
	h.r.pass.conn = h.cl
	h.drift = time.Hour // the next comparison is not due yet
	for range 3 {
		_ = h.try(d)
	}
	h.sync(d)
	h.check(d, time.Now())
}
