package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestMaintenanceCancelledCtxDoesNotHoldSlot: a MaintenanceEnter whose ctx is
// already done must not leave an operation "pending" that was never written.
// maint.do selects between the free slot and ctx.Done(); when both are ready
// Go picks at random, so about every other call takes the slot, marks the op
// pending, arms the MaintenanceTimeout timer and then c.send returns ctx.Err()
// without writing anything. The next maintenance operation (another target)
// then waits the full MaintenanceTimeout (30 s by default) for a MAINT_OK
// that can never come.
func TestMaintenanceCancelledCtxDoesNotHoldSlot(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), func(c *Options) { c.MaintenanceTimeout = 5 * time.Second })
	c := h.c
	id := liveRoute(t, c)

	dead, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20 {
		// Distinct targets: no call supersedes (and so frees) an earlier one.
		if err := c.MaintenanceEnter(dead, fmt.Sprintf("r%d", 1000+i), ""); !errors.Is(err, context.Canceled) {
			t.Fatalf("MaintenanceEnter(cancelled ctx) = %v, want context.Canceled", err)
		}
	}
	for _, line := range sim.Commands() {
		if strings.HasPrefix(line, "MAINT_ENTER|") {
			t.Fatalf("a cancelled MaintenanceEnter reached the server: %q", line)
		}
	}
	if st := c.MaintenanceState(); len(st) != 0 {
		t.Errorf("MaintenanceState after only cancelled calls = %+v, want none (nothing was sent)", st)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	start := time.Now()
	if err := c.MaintenanceEnter(ctx, id, ""); err != nil {
		t.Fatalf("MaintenanceEnter(%s) after cancelled calls = %v (after %v): the slot is held by an op that was never sent",
			id, err, time.Since(start).Round(time.Millisecond))
	}
}

// TestKeepaliveNotFooledBySlowCommand: the PING deadline runs from the
// PING's write, but the server answers in order (§5: replies are never
// reordered), so a PING queued behind a slow command (BACKEND_TEST of a
// blackholed backend, or a large CONFIG_APPLY: §4 ~n³, 2,000 routes → 1.2 s)
// gets its PONG only after that command. The client then declares a live,
// busy connection dead, drops it and so loses the session (§7: routes go
// disabled, REGISTER leaves orphans, full replay). Timings are scaled down:
// the server spends 3× KeepaliveTimeout on one command while the socket is
// perfectly healthy.
func TestKeepaliveNotFooledBySlowCommand(t *testing.T) {
	t.Parallel()
	slow := registrysim.CheckerFunc(func(ctx context.Context, url string) error {
		if url == "http://slow.invalid" {
			select {
			case <-time.After(600 * time.Millisecond):
			case <-ctx.Done():
			}
			return errors.New("i/o timeout")
		}
		return nil
	})
	sim := startSim(t, registrysim.Options{Checker: slow})
	slowPong := make(chan time.Duration, 1)
	h := newClient(t, sim.Addr(), func(c *Options) {
		c.OnRoundTrip = func(cmds []string, rtt time.Duration) {
			if len(cmds) == 1 && cmds[0] == "PING" && rtt > 200*time.Millisecond {
				select {
				case slowPong <- rtt:
				default:
				}
			}
		}
	})
	h.fastKeepalive(20*time.Millisecond, 200*time.Millisecond)
	h.run(t)
	await[Connected](t, h.rec, nil)
	res, err := backendTest(ctxT(t), h.c, "http://slow.invalid")
	if err != nil {
		t.Fatalf("BackendTest on a healthy connection = %v (DISCONNECTED events: %d)", err, count[Disconnected](h.rec, nil))
	}
	if res.Reachable {
		t.Fatalf("res = %+v", res)
	}
	if n := count[Disconnected](h.rec, nil); n != 0 {
		t.Fatalf("%d DISCONNECTED events while the server was answering in order", n)
	}
	// A PING went out behind the command and was answered after its
	// deadline (its PONG came right after the command's reply), without
	// the connection being dropped.
	select {
	case <-slowPong:
	case <-time.After(waitFor):
		t.Fatal("no PING waited behind the slow command: the test did not exercise the busy path")
	}
	if n := count[Disconnected](h.rec, nil); n != 0 {
		t.Fatalf("%d DISCONNECTED events while the server was answering in order", n)
	}
}

// TestSessionReplacedIsReported: another client registering the same
// service and instance takes the session (§2); PING still answers, so the
// first client says so instead of failing in silence.
func TestSessionReplacedIsReported(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	connected(t, sim.Addr(), nil) // same service and instance
	for range 2 {
		var se *ServerError
		if _, err := h.c.ListRoutes(ctxT(t)); !errors.As(err, &se) || se.Message != "session not found" {
			t.Fatalf("ListRoutes on a replaced session = %v", err)
		}
	}
	if e := await[SessionReplaced](t, h.rec, nil); e.SessionID != h.c.SessionID() {
		t.Fatalf("SessionReplaced %+v, want session %s", e, h.c.SessionID())
	}
	if n := count[SessionReplaced](h.rec, nil); n != 1 {
		t.Fatalf("SessionReplaced reported %d times, want once per session", n)
	}
	if err := ping(ctxT(t), h.c); err != nil {
		t.Fatalf("PING on a replaced session = %v; the server still answers it", err)
	}
}
