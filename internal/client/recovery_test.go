package client

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// fakeClock is a virtual time that only Sleep advances.
type fakeClock struct{ ns atomic.Int64 }

func (f *fakeClock) now() time.Time { return time.Unix(0, f.ns.Load()) }

func (f *fakeClock) elapsed() time.Duration { return time.Duration(f.ns.Load()) }

func (f *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	f.ns.Add(int64(d))
	return ctx.Err()
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

// dialTimes runs a client whose registry refuses every connection, at the
// default backoff, and returns the virtual times of its dials, up to and
// including the first at or after until.
func dialTimes(tb testing.TB, until time.Duration, rnd float64) []time.Duration {
	tb.Helper()
	var clk fakeClock
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		dials []time.Duration
	)
	cfg := testOptions("registry:7000")
	cfg.Backoff = Backoff{}
	cfg.Rand = func() float64 { return rnd }
	cfg.Sleep = clk.sleep
	cfg.Now = clk.now
	cfg.Dial = func(context.Context, string, string) (net.Conn, error) {
		t := clk.elapsed()
		mu.Lock()
		dials = append(dials, t)
		mu.Unlock()
		if t >= until {
			cancel()
		}
		return nil, errRefused
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return dials
}

// firstDialAfter is the virtual time of the first dial at or after opensAt
// of a client whose registry refuses connections until then: until it
// opens, nothing tells the client it will, so its dials are dialTimes'.
func firstDialAfter(tb testing.TB, opensAt time.Duration, rnd float64) time.Duration {
	tb.Helper()
	dials := dialTimes(tb, opensAt, rnd)
	return dials[len(dials)-1]
}

// A restarted registry is dialled within ProbeMax (2s) of opening its port,
// whatever the outage length, at the default settings; with the handshake
// and replay that keeps every route live within 3s.
func TestBackWithinProbeMaxAfterOutage(t *testing.T) {
	const bound = defaultProbeMax
	for _, outage := range []time.Duration{
		time.Second, 2 * time.Second, 3800 * time.Millisecond, 7300 * time.Millisecond, 15 * time.Second,
		33 * time.Second, 61 * time.Second, 62 * time.Second, 90 * time.Second, 120 * time.Second,
	} {
		for _, rnd := range []float64{0, 0.5, 0.999999} {
			if lag := firstDialAfter(t, outage, rnd) - outage; lag < 0 || lag > bound {
				t.Errorf("outage %v, jitter %v: first dial %v after the registry opened, want ≤ %v", outage, rnd, lag, bound)
			}
		}
	}
}

// TestWorstCaseLagOverOutages sweeps outage lengths 1–120 s in 10 ms steps
// and reports the longest time from the registry opening to the next dial.
// Before the registry opens a client cannot tell one outage from a longer
// one, so one run refused for 120 s gives the dials of every outage of the
// sweep: the first dial after an outage is the first of them at or after
// its end.
func TestWorstCaseLagOverOutages(t *testing.T) {
	const longest = 120 * time.Second
	// rnd 0: no shortening, the longest waits.
	dials := dialTimes(t, longest, 0)
	var worst, at time.Duration
	next := 0
	for outage := time.Second; outage <= longest; outage += 10 * time.Millisecond {
		for dials[next] < outage {
			next++
		}
		if lag := dials[next] - outage; lag > worst {
			worst, at = lag, outage
		}
	}
	t.Logf("worst lag from registry open to first dial over 1–120 s outages: %v (outage %v, %d dials)", worst, at, len(dials))
	if worst > defaultProbeMax {
		t.Fatalf("worst lag %v, want ≤ %v", worst, defaultProbeMax)
	}
}

// TestDownRegistryLoad computes the dials per second N clients put on a
// registry that refuses connections, once their schedules reached ProbeMax,
// and checks that the jitter keeps them from dialling in step: no 100 ms
// slot gets more than twice its share.
func TestDownRegistryLoad(t *testing.T) {
	for _, n := range []int{100, 1000} {
		const from, to, slot = 20 * time.Second, 80 * time.Second, 100 * time.Millisecond
		slots := make([]int, (to-from)/slot)
		dials := 0
		for i := range n {
			c, err := New(Options{Addr: "x:1", Service: "s", Instance: "i"})
			if err != nil {
				t.Fatal(err)
			}
			c.opts.Rand = rand.New(rand.NewPCG(uint64(i), 1)).Float64
			var at time.Duration
			for tries := 0; at < to; tries++ {
				if at >= from {
					slots[(at-from)/slot]++
					dials++
				}
				at += c.retryDelay(tries+1, 0)
			}
		}
		rate := float64(dials) / (to - from).Seconds()
		share := rate * slot.Seconds()
		t.Logf("%d clients, registry down: %.0f dials/s", n, rate)
		if want := float64(n) / 1.8; rate < want*0.9 || rate > want*1.1 {
			t.Errorf("%d clients: %.0f dials/s, want about %.0f (one per 1.8 s on average)", n, rate, want)
		}
		for i, k := range slots {
			if n >= 1000 && float64(k) > 2*share {
				t.Fatalf("%d clients: %d dials in slot %d, share %.0f: clients dial in step", n, k, i, share)
			}
		}
	}
}

// flappingServer accepts connections, answers the handshake (REGISTER with
// ACK, then the route-id probe sent in the same write) and closes the
// connection at once, as a broken registry does. It counts connections.
func flappingServer(tb testing.TB) (addr string, conns *atomic.Int32) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	conns = new(atomic.Int32)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				sc := bufio.NewScanner(nc)
				for sc.Scan() {
					switch line := sc.Text(); {
					case strings.HasPrefix(line, "RECONNECT|"):
						_, _ = nc.Write([]byte("ERROR|no session\n"))
					case strings.HasPrefix(line, "REGISTER|"):
						_, _ = nc.Write([]byte("ACK|s" + string(rune('0'+n%10)) + "\n"))
					case strings.HasPrefix(line, "ROUTE_ADD|"):
						_, _ = nc.Write([]byte("ROUTE_OK|r1\n"))
					case strings.HasPrefix(line, "CONFIG_ROLLBACK|"):
						_, _ = nc.Write([]byte("OK\n"))
						return
					}
				}
			}()
		}
	}()
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), conns
}

// A registry that answers REGISTER and drops the connection gets a growing
// backoff (each such connection counts as a failed try), a flapping warning
// and EXTENDED_RETRY, not a REGISTER and replay every Initial forever.
func TestFlappingRegistryBacksOff(t *testing.T) {
	addr, conns := flappingServer(t)
	var clk fakeClock
	const window = 120 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newClient(t, addr, func(c *Options) {
		c.Backoff = Backoff{}
		c.Rand = func() float64 { return 0.5 }
		c.Now = clk.now
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			if clk.elapsed()+d > window {
				cancel()
			}
			return clk.sleep(ctx, d)
		}
	})
	if err := h.c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// 0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75, 31.75, 61.75, 91.75 s: ten
	// connections in two minutes (was one every 250 ms: 481).
	if n := conns.Load(); n > 12 {
		t.Fatalf("%d connections in %v of virtual time, want ≤ 12", n, window)
	}
	if n := count[ExtendedRetry](h.rec, nil); n != 1 {
		t.Fatalf("EXTENDED_RETRY %d times, want 1", n)
	}
	await[Flapping](t, h.rec, nil)
	await(t, h.rec, func(e Retrying) bool { return e.Flapping })
}

// A stable connection (up longer than stableFor) resets the schedule: the
// next loss is retried after Initial again.
func TestStableConnectionResetsBackoff(t *testing.T) {
	c, err := New(Options{Addr: "x:1", Service: "s", Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.stableFor(); got != 30*time.Second {
		t.Fatalf("stableFor at the default 15s keepalive = %v, want 30s", got)
	}
	c, err = New(Options{Addr: "x:1", Service: "s", Instance: "i", KeepaliveInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.stableFor(); got != minStableFor {
		t.Fatalf("stableFor without keepalive = %v, want %v", got, minStableFor)
	}
}

// A library caller cannot configure a PING storm or a dial storm: tiny
// durations are raised to the minimums config also enforces.
func TestNewRaisesTinyDurations(t *testing.T) {
	c, err := New(Options{Addr: "x:1", Service: "s", Instance: "i",
		KeepaliveInterval: time.Nanosecond, Backoff: Backoff{Initial: time.Nanosecond, Max: time.Nanosecond, ProbeMax: time.Nanosecond}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.opts.KeepaliveInterval; got != minKeepaliveInterval {
		t.Errorf("KeepaliveInterval = %v, want %v", got, minKeepaliveInterval)
	}
	b := c.opts.Backoff
	if b.Initial != minBackoffInitial || b.Max != minBackoffMax || b.ProbeMax != minBackoffMax {
		t.Errorf("Backoff = %+v, want Initial %v, Max and ProbeMax %v", b, minBackoffInitial, minBackoffMax)
	}
	// The dial loop against a registry that is down: every wait is at least
	// minBackoffInitial, the waits settle at minBackoffMax.
	var clk fakeClock
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dials atomic.Int32
	cfg := testOptions("registry:7000")
	cfg.Backoff = Backoff{Initial: time.Nanosecond, Max: time.Nanosecond}
	cfg.Sleep = clk.sleep
	cfg.Now = clk.now
	cfg.Dial = func(context.Context, string, string) (net.Conn, error) {
		if clk.elapsed() >= 10*time.Second {
			cancel()
		}
		dials.Add(1)
		return nil, errRefused
	}
	c, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// 10 s of virtual time at ≥ minBackoffMax less its jitter per wait: at
	// most ~250 dials (was 10 billion at 1 ns).
	if n, most := dials.Load(), int32(10*time.Second/(minBackoffMax*8/10))+10; n > most {
		t.Fatalf("%d dials in 10 s, want ≤ %d", n, most)
	}
}

// A registry restart after a stable connection, or after one that was lost
// soon after its handshake (counted as a failed try), is still found within
// ProbeMax of the registry opening: the waits between refused dials do not
// inherit the schedule of failed handshakes, nor refused dials the schedule
// of the next handshake.
func TestBackWithinProbeMaxAfterLoss(t *testing.T) {
	for _, uptime := range []time.Duration{5 * time.Second, time.Minute} {
		for _, outage := range []time.Duration{time.Second, 7300 * time.Millisecond, 33 * time.Second, 120 * time.Second} {
			sim := startSim(t, registrysim.Options{})
			var clk fakeClock
			var opensAt, firstAfter atomic.Int64
			var d net.Dialer
			h := newClient(t, sim.Addr(), func(c *Options) {
				c.Backoff = Backoff{}
				c.Rand = func() float64 { return 0 } // the longest waits
				c.Sleep = clk.sleep
				c.Now = clk.now
				c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					now := int64(clk.elapsed())
					if now < opensAt.Load() {
						return nil, errRefused
					}
					firstAfter.CompareAndSwap(0, now)
					return d.DialContext(ctx, network, addr)
				}
			})
			opensAt.Store(int64(20 * time.Second)) // down at start-up too: ten refused dials
			h.run(t)
			await[Connected](t, h.rec, nil)
			clk.ns.Add(int64(uptime))
			opensAt.Store(int64(clk.elapsed() + outage))
			firstAfter.Store(0)
			sim.DropConnections()
			await[Reconnected](t, h.rec, nil)
			if lag := time.Duration(firstAfter.Load() - opensAt.Load()); lag < 0 || lag > defaultProbeMax {
				t.Errorf("up %v, outage %v: first dial %v after the registry opened, want ≤ %v", uptime, outage, lag, defaultProbeMax)
			}
		}
	}
}
