package client

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestOnRoundTrip: every completed write is reported once, with its
// commands in order; keepalive PINGs too. The agent's metrics count
// commands by type and time round trips from it.
func TestOnRoundTrip(t *testing.T) {
	t.Parallel()
	sim := startSim(t, registrysim.Options{})
	var mu sync.Mutex
	var writes [][]string
	pinged := make(chan struct{}, 1)
	h := connected(t, sim.Addr(), func(c *Options) {
		c.KeepaliveInterval = 5 * time.Millisecond
		c.OnRoundTrip = func(cmds []string, rtt time.Duration) {
			if rtt <= 0 {
				t.Errorf("rtt %v for %v", rtt, cmds)
			}
			mu.Lock()
			defer mu.Unlock()
			if slices.Equal(cmds, []string{"PING"}) {
				select {
				case pinged <- struct{}{}:
				default:
				}
				return
			}
			writes = append(writes, cmds)
		}
	})
	var b Batch
	b.RouteAdd(Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"})
	b.OptionSet("timeout", "5s")
	b.Apply()
	if _, err := h.c.Send(ctxT(t), &b); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.ListRoutes(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pinged:
	case <-time.After(waitFor):
		t.Fatal("no PING round trip reported")
	}
	mu.Lock()
	defer mu.Unlock()
	want := [][]string{{"ROUTE_ADD", "OPTIONS_SET", "CONFIG_APPLY"}, {"ROUTE_LIST"}}
	if !slices.EqualFunc(writes, want, slices.Equal[[]string]) {
		t.Fatalf("round trips %q, want %q", writes, want)
	}
}

// TestBatchForSession: a batch bound to a session generation never reaches
// the next session, whose route ids mean something else (§2).
func TestBatchForSession(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	gen := c.Generation()
	var b Batch
	b.RouteRemove("r1")
	b.ForSession(gen)
	if _, err := c.Send(ctx, &b); err != nil {
		t.Fatalf("Send on its own session: %v", err)
	}

	sim.DropConnections()
	await[Reconnected](t, h.rec, nil)
	if c.Generation() == gen {
		t.Fatal("no new session after the drop")
	}
	before := sim.CommandCount()
	_, err := c.Send(ctx, &b)
	if !errors.Is(err, ErrSessionChanged) {
		t.Fatalf("Send on the next session = %v, want ErrSessionChanged", err)
	}
	if n := sim.CommandCount() - before; n != 0 {
		t.Fatalf("%d commands reached the new session", n)
	}
}
