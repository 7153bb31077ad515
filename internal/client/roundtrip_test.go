package client

import (
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
	sim := startSim(t, registrysim.Options{})
	var mu sync.Mutex
	var writes [][]string
	pinged := make(chan struct{}, 1)
	h := connected(t, sim.Addr(), func(c *Config) {
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
