package benchsuite

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
	"regagent/internal/faultnet"
	"regagent/internal/reconcile"
	"regagent/internal/registrysim"
)

const syncRoutes = 1000

// syncSpec is the initial-sync workload: 1,000 routes, each with a health
// check, no options or headers (the sequential pattern sends none either).
func syncSpec() fileSpec { return fileSpec{Routes: syncRoutes, HealthEvery: 1} }

// link is a fresh registrysim, reached directly or through a faultnet relay
// adding oneWay latency in each direction.
type link struct {
	sim  *registrysim.Server
	addr string
	stop func()
}

func newLink(tb testing.TB, oneWay time.Duration) link {
	tb.Helper()
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		tb.Fatal(err)
	}
	l := link{sim: sim, addr: sim.Addr(), stop: func() { _ = sim.Close() }}
	if oneWay > 0 {
		relay := faultnet.New(sim.Addr())
		relay.SetLatency(oneWay)
		if err := relay.Start(); err != nil {
			tb.Fatal(err)
		}
		l.addr = relay.Addr()
		l.stop = func() { _ = relay.Close(); _ = sim.Close() }
	}
	return l
}

// checkSynced fails unless the proxy holds n routes, each with a health
// check URL.
func checkSynced(tb testing.TB, sim *registrysim.Server, n int) {
	tb.Helper()
	rs := sim.ProxyRoutes()
	if len(rs) != n {
		tb.Fatalf("proxy has %d routes, want %d", len(rs), n)
	}
	for _, r := range rs {
		if r.HealthURL == "" {
			tb.Fatalf("route %s %v has no health check", r.ID, r.Domains)
		}
	}
}

// newBenchClient runs a client (no keepalive) until the returned stop is
// called, and waits until it is registered.
func newBenchClient(tb testing.TB, addr string, dial func(context.Context, string, string) (net.Conn, error)) (*client.Client, func()) {
	tb.Helper()
	cl, err := client.New(client.Options{
		Addr: addr, Service: "bench", Instance: "bench-1",
		KeepaliveInterval: -1, Dial: dial,
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cl.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := cl.WaitConnected(wctx); err != nil {
		stop()
		tb.Fatal(err)
	}
	return cl, stop
}

// parseSpec parses a generated file the way the agent does.
func parseSpec(tb testing.TB, spec fileSpec) *config.Config {
	tb.Helper()
	cfg, err := config.Parse(strings.NewReader(spec.render()), config.ParseOptions{Filename: "bench.yaml", Hostname: "bench-host"})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// syncRegagent times one initial sync by the reconciler and client: from
// SetDesired on a registered, empty session to the end of the pass.
func syncRegagent(tb testing.TB, cfg *config.Config, oneWay time.Duration) (time.Duration, reconcile.Status) {
	tb.Helper()
	l := newLink(tb, oneWay)
	defer l.stop()
	cl, stop := newBenchClient(tb, l.addr, nil)
	defer stop()
	r := reconcile.New(cl, reconcile.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	r.SetDesired(cfg, "127.0.0.1")
	if _, err := r.Reconcile(ctx); err != nil {
		tb.Fatalf("reconcile: %v", err)
	}
	d := time.Since(start)
	checkSynced(tb, l.sim, len(cfg.Routes))
	return d, r.Status()
}

// syncSequential times the same sync the way simple clients of this
// protocol do it: one command, wait for its reply, the next command.
// It shares no code with internal/client.
func syncSequential(tb testing.TB, n int, oneWay time.Duration) time.Duration {
	tb.Helper()
	l := newLink(tb, oneWay)
	defer l.stop()
	d, err := sequentialSync(l.addr, n)
	if err != nil {
		tb.Fatal(err)
	}
	checkSynced(tb, l.sim, n)
	return d
}

// sequentialSync registers, then for each route sends ROUTE_ADD and
// HEALTH_SET, each awaited, then CONFIG_APPLY. The returned time excludes
// dialing and REGISTER.
func sequentialSync(addr string, n int) (time.Duration, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Minute))
	rd := bufio.NewReader(nc)
	call := func(line, want string) (string, error) {
		if _, err := nc.Write([]byte(line + "\n")); err != nil {
			return "", err
		}
		reply, err := rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		reply = strings.TrimRight(reply, "\r\n")
		kind, payload, _ := strings.Cut(reply, "|")
		if kind != want {
			return "", fmt.Errorf("%s: got %q", line, reply)
		}
		return payload, nil
	}
	sid, err := call("REGISTER|bench|seq-1|0|{}", "ACK")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range n {
		id, err := call(fmt.Sprintf("ROUTE_ADD|%s|%s|/|%s|0", sid, routeHost(i), defaultBackend(i)), "ROUTE_OK")
		if err != nil {
			return 0, err
		}
		if _, err := call(fmt.Sprintf("HEALTH_SET|%s|%s|healthz|10s|2s", sid, id), "HEALTH_OK"); err != nil {
			return 0, err
		}
	}
	if _, err := call("CONFIG_APPLY|"+sid, "OK"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// BenchmarkInitialSync1000 compares an initial sync of 1,000 routes with
// health checks by regagent (reconciler + client: bulk adds, pipelined
// writes) with the one-command-per-round-trip pattern, on loopback and with
// 1 ms of round-trip time added by faultnet. Target: ≥ 50× at 1 ms.
// Each op is one sync of each kind, each against a fresh registrysim.
func BenchmarkInitialSync1000(b *testing.B) {
	cfg := parseSpec(b, syncSpec())
	for _, bc := range []struct {
		name   string
		oneWay time.Duration
	}{{"rtt0", 0}, {"rtt1ms", 500 * time.Microsecond}} {
		b.Run(bc.name, func(b *testing.B) {
			var reg, seq time.Duration
			var writes, cmds, n int
			for b.Loop() {
				d, st := syncRegagent(b, cfg, bc.oneWay)
				reg += d
				writes += st.Writes
				cmds += st.Commands
				seq += syncSequential(b, syncRoutes, bc.oneWay)
				n++
			}
			b.ReportMetric(ms(reg)/float64(n), "regagent-ms")
			b.ReportMetric(ms(seq)/float64(n), "sequential-ms")
			b.ReportMetric(seq.Seconds()/reg.Seconds(), "speedup")
			b.ReportMetric(float64(writes)/float64(n), "regagent-writes")
			b.ReportMetric(float64(cmds)/float64(n), "regagent-commands")
			b.ReportMetric(2*syncRoutes+1, "sequential-roundtrips")
			// The real round trip the relay gives (timer granularity may
			// make it longer than asked): the sequential pattern's time
			// per command.
			b.ReportMetric(float64(seq.Microseconds())/float64(n)/(2*syncRoutes+1), "sequential-us/roundtrip")
		})
	}
}
