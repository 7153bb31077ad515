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

	await(t, h.rec, func(e Disconnected) bool { return errors.Is(e.Err, ErrDisconnected) })
	await(t, h.rec, func(e Retrying) bool { return e.Attempt == 1 })
	e := await[Reconnected](t, h.rec, nil)
	if !e.Replay || e.SessionID == old || e.OldSessionID != old || c.Generation() != 2 {
		t.Fatalf("Reconnected %+v, generation %d", e, c.Generation())
	}
	// §2: RECONNECT first (the server cannot honour it), then REGISTER.
	cmds := sim.Commands()
	if len(cmds) < 2 || cmds[0] != "RECONNECT|"+old || !strings.HasPrefix(cmds[1], "REGISTER|svc|i1|3001|") {
		t.Fatalf("handshake lines %q", cmds)
	}
	if err := ping(ctx, c); err != nil {
		t.Fatalf("Ping after reconnect: %v", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	if _, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Path: "/", Backend: "http://x:1"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := sim.Restart(); err != nil {
		t.Fatal(err)
	}
	await[Disconnected](t, h.rec, nil)
	e := await[Reconnected](t, h.rec, nil)
	if !e.Replay {
		t.Fatalf("Reconnected %+v", e)
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
	go func() { errc <- ping(ctxT(t), h.c) }()
	eventually(t, "server received the PING", func() bool {
		cmds := sim.Commands()
		return len(cmds) > 0 && strings.HasPrefix(cmds[len(cmds)-1], "PING|")
	})
	sim.DropConnections()
	if err := <-errc; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Ping: %v, want ErrDisconnected", err)
	}
	sim.SetResponseDelay(0)
	await[Reconnected](t, h.rec, nil)
}

func TestHalfOpenDetectedByKeepalive(t *testing.T) {
	t.Parallel()
	sim := startSim(t, registrysim.Options{})
	t.Cleanup(func() { sim.Freeze(false) })
	h := newClient(t, sim.Addr(), nil)
	h.fastKeepalive(20*time.Millisecond, 100*time.Millisecond)
	h.run(t)
	await[Connected](t, h.rec, nil)
	sim.Freeze(true) // the open connection stops answering; new ones are served
	e := await[Disconnected](t, h.rec, nil)
	if !errors.Is(e.Err, ErrDisconnected) || !strings.Contains(e.Err.Error(), "keepalive") {
		t.Fatalf("DISCONNECTED err %v", e.Err)
	}
	await[Reconnected](t, h.rec, nil)
	if err := ping(ctxT(t), h.c); err != nil {
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
	e := await(t, h.rec, func(e Retrying) bool { return e.Attempt == 3 })
	var dnsErr *net.DNSError
	if !errors.As(e.Err, &dnsErr) {
		t.Fatalf("RETRYING err %v, want the *net.DNSError", e.Err)
	}
	await[Connected](t, h.rec, nil)
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
	await[Connected](t, h.rec, nil)
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
	if n := count[ExtendedRetry](h.rec, nil); n != 1 {
		t.Fatalf("EXTENDED_RETRY %d times, want 1", n)
	}
	if n := count[Retrying](h.rec, nil); n != 8 {
		t.Fatalf("RETRYING %d times, want 8", n)
	}
}

// TestDeregister: CLIENT_SHUTDOWN ends the session (the server removes it
// and closes the connection, §2); the client does not connect again, and
// Run ends with its context.
func TestDeregister(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	await[Connected](t, h.rec, nil)
	if err := h.c.Deregister(ctxT(t)); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if e := await[Disconnected](t, h.rec, nil); !e.Requested {
		t.Fatalf("Disconnected after Deregister: %+v, want Requested", e)
	}
	if s := sim.Sessions(); len(s) != 0 {
		t.Fatalf("sessions after CLIENT_SHUTDOWN: %+v", s)
	}
	if err := ping(ctxT(t), h.c); !errors.Is(err, ErrClosed) {
		t.Fatalf("PING after Deregister = %v, want ErrClosed", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := h.c.State(); st != StateClosed {
		t.Fatalf("State=%v", st)
	}
	if n := count[Retrying](h.rec, nil) + count[Reconnected](h.rec, nil); n != 0 || sim.CommandCount() != 4 {
		t.Fatalf("after Deregister: %d reconnect events, commands %q; want none, and REGISTER, its probe and CLIENT_SHUTDOWN only",
			n, sim.Commands())
	}
}

// TestStopWithoutDeregisterLeavesGrace: ending Run's context closes the
// connection without CLIENT_SHUTDOWN: the server keeps the session's routes
// for its grace period (§7). The owner asked for the loss: Requested.
func TestStopWithoutDeregisterLeavesGrace(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := newClient(t, sim.Addr(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	await[Connected](t, h.rec, nil)
	cancel() // ending Run's context is the other way to stop
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if e := await[Disconnected](t, h.rec, nil); !e.Requested {
		t.Fatalf("Disconnected when Run's context ended: %+v, want Requested", e)
	}
	eventually(t, "session in grace", func() bool {
		s := sim.Sessions()
		return len(s) == 1 && !s[0].Connected
	})
	if st := h.c.State(); st != StateClosed {
		t.Fatalf("State=%v after Run, want CLOSED", st)
	}
}
