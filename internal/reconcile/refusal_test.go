package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
)

// A refused (partial) apply (§3) leaves the adds it staged as orphans to
// purge. Those routes were never part of a good state: the mass-removal
// guard must not count them, or the fallback to the last good state is
// refused as a mass removal and the proxy keeps serving the refused file's
// routes.
func TestRefusedApplyOrphansDoNotBlockFallback(t *testing.T) {
	h := newHarness(t)
	good := desired(conf(rt("a", "a.com", "/", "http://a")))
	h.sync(good)

	// The edit adds b and c (c with a health check, so the apply goes in a
	// second write); the apply is refused halfway (§3).
	bad := desired(conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"),
		withHealth(rt("c", "c.com", "/", "http://c"), "/h")))
	h.r.pass.conn = &injectConn{Client: h.cl, before: 2, inject: func(ctx context.Context) {
		if err := stage(ctx, h.cl, func(b *client.Batch) {
			b.RouteAdd(client.Route{Domains: []string{"bad.example.com"}, Path: "/", Backend: "http://[::1"})
		}); err != nil {
			t.Errorf("inject: %v", err)
		}
	}}
	if err := h.try(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	h.r.pass.conn = h.cl

	// The refusal marked a pass due: it converges to the last good state.
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	if _, err := h.r.Reconcile(ctx); err != nil {
		t.Fatalf("fallback pass: %v", err)
	}
	h.check(good, time.Now())
}

// The same, when the user reverts the bad edit: the file is the last good
// one again, and it must apply.
func TestRevertAfterRefusedApply(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"))
	h.sync(desired(c))
	bad := desired(conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"),
		withHealth(rt("c", "c.com", "/", "http://c"), "/h")))
	h.r.pass.conn = &injectConn{Client: h.cl, before: 2, inject: func(ctx context.Context) {
		if err := stage(ctx, h.cl, func(b *client.Batch) {
			b.RouteAdd(client.Route{Domains: []string{"bad.example.com"}, Path: "/", Backend: "http://[::1"})
		}); err != nil {
			t.Errorf("inject: %v", err)
		}
	}}
	if err := h.try(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	h.r.pass.conn = h.cl
	h.sync(desired(c)) // the file is reverted
	h.check(desired(c), time.Now())
}

// gatedHarness is newHarness with a client whose reconnect waits until
// release is closed: a test can act while the connection is down and the
// session not yet replaced.
func gatedHarness(t *testing.T) (*harness, chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	h := newHarnessWith(t, func(c *client.Options) {
		c.Sleep = func(ctx context.Context, _ time.Duration) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	return h, release
}

// dropBeforeExit loses the connection just before the plan's MAINT_EXIT.
type dropBeforeExit struct {
	*client.Client
	h    *harness
	done bool
}

func (c *dropBeforeExit) MaintenanceExit(ctx context.Context, target string) error {
	if !c.done {
		c.done = true
		c.h.srv.DropConnections()
		for c.Client.State() == client.StateConnected {
			time.Sleep(time.Millisecond)
		}
	}
	return c.Client.MaintenanceExit(ctx, target)
}

// A MAINT_EXIT attempted while not connected falls back to local and sends
// nothing. It must not be recorded as done: the proxy keeps the backend in
// maintenance (§5: per backend string, not per session), and after the
// replay the route would serve the maintenance page although the file says
// no maintenance.
func TestMaintExitWhileDisconnectedIsNotForgotten(t *testing.T) {
	h, release := gatedHarness(t)
	c := conf(rt("web", "w.com", "/", "http://w"), rt("api", "a.com", "/", "http://a"))
	c.Maintenance = config.Maintenance{Enabled: true, Targets: []string{"api"}}
	h.sync(desired(c))
	h.check(desired(c), time.Now())

	c.Maintenance = config.Maintenance{}
	d := desired(c)
	h.r.pass.conn = &dropBeforeExit{Client: h.cl, h: h}
	_ = h.try(d) // whatever this pass says
	h.r.pass.conn = h.cl

	gen := h.cl.Generation()
	close(release)
	h.waitGeneration(gen)
	for range 3 {
		_ = h.try(d)
	}
	h.sync(d)
	h.check(d, time.Now())
}
