package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

func TestReconnectAfterDrop(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	old := c.SessionID()
	if g := c.Generation(); g != 1 {
		t.Fatalf("Generation=%d, want 1", g)
	}
	sim.ResetCommands()
	sim.DropConnections()

	h.rec.wait(t, EventDisconnected, func(e Event) bool { return errors.Is(e.Err, ErrDisconnected) })
	h.rec.wait(t, EventRetrying, func(e Event) bool { return e.Data["attempt"] == 1 })
	e := h.rec.wait(t, EventReconnected, nil)
	if e.Data["replay"] != true || e.Data["session_id"] == old || e.Data["old_session_id"] != old || c.Generation() != 2 {
		t.Fatalf("RECONNECTED %v, generation %d", e.Data, c.Generation())
	}
	// §2: RECONNECT first (the server cannot honour it), then REGISTER.
	cmds := sim.Commands()
	if len(cmds) < 2 || cmds[0] != "RECONNECT|"+old || !strings.HasPrefix(cmds[1], "REGISTER|svc|i1|3001|") {
		t.Fatalf("handshake lines %q", cmds)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping after reconnect: %v", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	if _, err := c.AddRoute(ctx, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sim.Restart(); err != nil {
		t.Fatal(err)
	}
	h.rec.wait(t, EventDisconnected, nil)
	e := h.rec.wait(t, EventReconnected, nil)
	if e.Data["replay"] != true {
		t.Fatalf("RECONNECTED %v", e.Data)
	}
	routes, err := c.ListRoutes(ctx)
	if err != nil || len(routes) != 0 {
		t.Fatalf("after restart ListRoutes = %v, %v (state must be replayed)", routes, err)
	}
}

func TestPendingCommandsFailOnDisconnect(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	sim.SetResponseDelay(time.Hour) // the PING stays unanswered
	errc := make(chan error, 1)
	go func() { errc <- h.c.Ping(ctxT(t)) }()
	eventually(t, "server received the PING", func() bool {
		cmds := sim.Commands()
		return len(cmds) > 0 && strings.HasPrefix(cmds[len(cmds)-1], "PING|")
	})
	sim.DropConnections()
	if err := <-errc; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Ping: %v, want ErrDisconnected", err)
	}
	sim.SetResponseDelay(0)
	h.rec.wait(t, EventReconnected, nil)
}

func TestHalfOpenDetectedByKeepalive(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	t.Cleanup(func() { sim.Freeze(false) })
	h := connected(t, sim.Addr(), func(c *Options) {
		c.KeepaliveInterval = 20 * time.Millisecond
		c.KeepaliveTimeout = 100 * time.Millisecond
	})
	sim.Freeze(true) // the open connection stops answering; new ones are served
	e := h.rec.wait(t, EventDisconnected, nil)
	if !errors.Is(e.Err, ErrDisconnected) || !strings.Contains(e.Err.Error(), "keepalive") {
		t.Fatalf("DISCONNECTED err %v", e.Err)
	}
	h.rec.wait(t, EventReconnected, nil)
	if err := h.c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestDNSFailureThenSuccess(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	var calls atomic.Int32
	var d net.Dialer
	h := newClient(t, sim.Addr(), func(c *Options) {
		c.Addr = "registry.invalid:7000"
		c.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			if calls.Add(1) <= 3 {
				return nil, &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true}
			}
			return d.DialContext(ctx, network, sim.Addr())
		}
	})
	h.run(t)
	e := h.rec.wait(t, EventRetrying, func(e Event) bool { return e.Data["attempt"] == 3 })
	var dnsErr *net.DNSError
	if !errors.As(e.Err, &dnsErr) {
		t.Fatalf("RETRYING err %v, want the *net.DNSError", e.Err)
	}
	h.rec.wait(t, EventConnected, nil)
	if n := calls.Load(); n != 4 {
		t.Fatalf("dial calls %d, want 4", n)
	}
}

func TestBackoffScheduleAndExtendedRetry(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	var (
		mu     sync.Mutex
		delays []time.Duration
	)
	var d net.Dialer
	var calls atomic.Int32
	h := newClient(t, sim.Addr(), func(c *Options) {
		c.Backoff = Backoff{}                  // the defaults: 250ms ×2 up to 30s (2s between refused dials), jitter 0.2
		c.Rand = func() float64 { return 0.5 } // centre of the jitter range
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			delays = append(delays, d)
			mu.Unlock()
			return ctx.Err()
		}
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if calls.Add(1) <= 8 {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			}
			return d.DialContext(ctx, network, addr)
		}
	})
	h.run(t)
	h.rec.wait(t, EventConnected, nil)
	// Refused dials: the schedule stops growing at ProbeMax (2s), jittered
	// downwards (rand 0.5: -10%).
	want := []time.Duration{225 * time.Millisecond, 450 * time.Millisecond, 900 * time.Millisecond, 1800 * time.Millisecond,
		1800 * time.Millisecond, 1800 * time.Millisecond, 1800 * time.Millisecond, 1800 * time.Millisecond}
	mu.Lock()
	got := append([]time.Duration(nil), delays...)
	mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delay %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
	if n := h.rec.count(EventExtendedRetry); n != 1 {
		t.Fatalf("EXTENDED_RETRY %d times, want 1", n)
	}
	if n := h.rec.count(EventRetrying); n != 8 {
		t.Fatalf("RETRYING %d times, want 8", n)
	}
}

func TestCloseDeregisters(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	h.rec.wait(t, EventConnected, nil)
	if err := h.c.Close(ctxT(t), true); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if e := h.rec.wait(t, EventDisconnected, nil); e.Data["closed"] != true {
		t.Fatalf("DISCONNECTED after Close: data %v, want closed=true", e.Data)
	}
	if s := sim.Sessions(); len(s) != 0 {
		t.Fatalf("sessions after CLIENT_SHUTDOWN: %+v", s)
	}
	if st := h.c.State(); st != StateClosed {
		t.Fatalf("State=%v", st)
	}
}

func TestCloseWithoutDeregisterLeavesGrace(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	h.rec.wait(t, EventConnected, nil)
	cancel() // ending Run's context is the other way to stop
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if e := h.rec.wait(t, EventDisconnected, nil); e.Data["closed"] != false {
		t.Fatalf("DISCONNECTED when Run's context ended: data %v, want closed=false", e.Data)
	}
	eventually(t, "session in grace", func() bool {
		s := sim.Sessions()
		return len(s) == 1 && !s[0].Connected
	})
	if err := h.c.Close(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
}
