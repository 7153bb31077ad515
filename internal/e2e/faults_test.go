package e2e

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"regagent/internal/agent"
	"regagent/internal/client"
)

// fastReconnect shortens the reconnection schedule and the keepalive, as an
// operator would in the file.
var fastReconnect = []string{
	"keepalive_interval: 100ms",
	"keepalive_timeout: 200ms",
	"backoff:",
	"  initial: 20ms",
	"  max: 100ms",
}

// Scenario 1: the proxy restarts again and again under a running agent (§8:
// every session and route is gone); after each restart every route is live
// again, owned by the new session, with its headers, and nothing is
// duplicated.
//
// Six restarts: no connection of a test lives the client's stability
// threshold (10 s), so each loss counts as one more flap and the reconnect
// wait grows (20ms doubling) until the fourth waits the schedule's maximum
// (100ms); the last two replay with the schedule capped. More restarts
// repeat that last state.
func TestProxyRestart(t *testing.T) {
	t.Parallel()
	routes := manyRoutes(10, "http://web")
	f := file{proxy: fastReconnect, routes: routes, headers: map[string]string{"X-Served-By": "shop"}}
	r := startRun(t, f.render(), setup{})
	live := func() error {
		if err := servedLive(r.sim, routes); err != nil {
			return err
		}
		if err := exactTable(r.sim, routes); err != nil {
			return err
		}
		for _, rt := range routes {
			if h := r.sim.Resolve(rt.domains[0], rt.path).Headers["X-Served-By"]; h != "shop" {
				return fmt.Errorf("route %s serves header X-Served-By=%q, want shop", rt.name, h)
			}
		}
		return nil
	}
	r.await(agent.EventConfigApplied, 0)
	r.until("first apply", live)

	const cycles = 6
	var restore []time.Duration
	for i := range cycles {
		start := time.Now()
		if err := r.sim.Restart(); err != nil {
			t.Fatal(err)
		}
		r.until(fmt.Sprintf("restart %d: every route live again", i+1), live)
		restore = append(restore, time.Since(start))
	}
	if got := r.snapshot().Reconciler.Replays; got != cycles {
		t.Errorf("replays = %d, want %d (one per restart)", got, cycles)
	}
	med, mx := medianMax(restore)
	t.Logf("e2e: restore_ms median=%.1f max=%.1f cycles=%d routes=%d", med, mx, cycles, len(routes))
}

// Scenario 2: connection resets, then half-open links (the relay stops
// forwarding without closing). No desired state is lost: every route is
// served again by the new live session. A half-open link is found by the
// keepalive, whose detection time is reported.
//
// Six of each kind: as with the restarts above, the reconnect wait grows
// with each reset until the fourth waits the schedule's maximum; the
// half-opens then all happen with the schedule capped and flapping
// reported. Six detection times give the median and maximum logged; more
// cycles repeat states already covered.
func TestResetsAndHalfOpenLinks(t *testing.T) {
	t.Parallel()
	routes := manyRoutes(5, "http://api")
	r := startRun(t, file{proxy: fastReconnect, routes: routes}.render(), setup{relay: true})
	r.firstApply(routes)

	const cycles = 6
	newSession := func(old string) func() error {
		return func() error {
			if sid := liveSession(r.sim); sid == old {
				return fmt.Errorf("still session %s", old)
			}
			return servedLive(r.sim, routes)
		}
	}
	for i := range cycles {
		old, m := liveSession(r.sim), r.events.mark()
		r.relay.ResetAll()
		r.await(agent.EventDisconnected, m)
		r.until(fmt.Sprintf("reset %d: routes served by a new session", i+1), newSession(old))
	}

	var detect []time.Duration
	for i := range cycles {
		old, m := liveSession(r.sim), r.events.mark()
		start := time.Now()
		r.relay.Blackhole(true)
		ev, _ := r.await(agent.EventDisconnected, m)
		detect = append(detect, ev.Time.Sub(start))
		r.relay.Blackhole(false)
		if ev.Err == nil || !strings.Contains(ev.Err.Error(), "keepalive") {
			t.Errorf("half-open %d: DISCONNECTED err = %v, want the keepalive's", i+1, ev.Err)
		}
		r.until(fmt.Sprintf("half-open %d: routes served by a new session", i+1), newSession(old))
	}
	med, mx := medianMax(detect)
	t.Logf("e2e: halfopen_detect_ms median=%.1f max=%.1f cycles=%d keepalive_interval=100ms keepalive_timeout=200ms", med, mx, cycles)
}

// Scenario 3: the registry refuses connections for a long time at start-up.
// The agent keeps retrying without giving up or crashing, emits RETRYING and
// EXTENDED_RETRY, sends nothing, and applies everything once the registry
// can be reached.
//
// While nothing answers, the agent's only clock is its retry schedule (the
// reconciler waits for a connection; a session's stability needs one), so
// the outage is measured in tries, not seconds: it lasts outageTries tries,
// four times the tries after which EXTENDED_RETRY is due and most of them at
// the schedule's maximum, as a long real-time outage with the default
// schedule would. A short schedule makes that take about 2 s.
func TestRegistryUnreachableAtStart(t *testing.T) {
	t.Parallel()
	const outageTries = 20
	routes := manyRoutes(5, "http://web")
	f := file{proxy: []string{"backoff:", "  initial: 20ms", "  max: 100ms"}, routes: routes}
	start := time.Now()
	r := startRun(t, f.render(), setup{relay: true, refuse: true})

	r.await(agent.EventRetrying, 0)
	r.await(agent.EventExtendedRetry, 0)
	r.events.await(t, fmt.Sprintf("RETRYING attempt %d", outageTries), 0, func(ev agent.Event) bool {
		d, ok := ev.Detail.(client.Retrying)
		return ok && d.Attempt >= outageTries
	})
	select {
	case err := <-r.done:
		r.cancel = nil
		t.Fatalf("agent Run returned during the outage: %v", err)
	default:
	}
	outage := time.Since(start)
	if ok, why := r.agent.Ready(); ok {
		t.Fatalf("Ready = true while the registry is unreachable")
	} else {
		t.Logf("not ready during the outage: %s", why)
	}
	if n := r.sim.CommandCount(); n != 0 {
		t.Fatalf("registry got %d commands while unreachable", n)
	}
	retrying := r.events.count(0, isType(agent.EventRetrying))
	extended := r.events.count(0, isType(agent.EventExtendedRetry))
	if extended != 1 {
		t.Errorf("EXTENDED_RETRY emitted %d times in one outage, want 1", extended)
	}

	up := time.Now()
	r.relay.Refuse(false)
	r.until("routes applied once the registry is up", func() error {
		if err := servedLive(r.sim, routes); err != nil {
			return err
		}
		return exactTable(r.sim, routes)
	})
	applied := time.Since(up)
	r.await(agent.EventConnected, 0)
	t.Logf("e2e: unreachable_start outage_ms=%.0f retrying=%d extended_retry=%d applied_after_up_ms=%.1f",
		ms(outage), retrying, extended, ms(applied))
}

// The README promises a reconnection schedule with jitter (many agents
// restarted together must not reconnect in lock step). The delays the
// agent reports with RETRYING are compared with the schedule without
// jitter.
func TestReconnectDelaysHaveJitter(t *testing.T) {
	t.Parallel()
	f := file{proxy: []string{"backoff:", "  initial: 20ms", "  max: 80ms", "  multiplier: 2"}, routes: manyRoutes(1, "http://web")}
	r := startRun(t, f.render(), setup{relay: true, refuse: true})
	var delays []time.Duration
	pos := 0
	for range 8 {
		var ev agent.Event
		ev, pos = r.await(agent.EventRetrying, pos)
		d, ok := ev.Detail.(client.Retrying)
		if !ok {
			t.Fatalf("RETRYING detail %#v", ev.Detail)
		}
		delays = append(delays, d.Delay)
	}
	exact := 0
	for i, d := range delays {
		if d == min(20*time.Millisecond<<i, 80*time.Millisecond) {
			exact++
		}
	}
	t.Logf("e2e: reconnect_delays %v", delays)
	if exact == len(delays) {
		t.Fatalf("reconnect delays follow the exact schedule, without jitter: %v", delays)
	}
}

func medianMax(ds []time.Duration) (median, maximum float64) {
	if len(ds) == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return ms(s[len(s)/2]), ms(s[len(s)-1])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
