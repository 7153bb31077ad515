package benchsuite

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// idleVariant is one idle daemon: the file's extra blocks and the periodic
// work it implies.
type idleVariant struct {
	name  string
	extra string
	// Periods of the timers that run while idle (0 = off). The address
	// check (30 s) is the agent's default and cannot be set in the file.
	keepalive, poll, drift, ipCheck time.Duration
}

// expected is how many timer events fire in window w.
func (v idleVariant) expected(w time.Duration) float64 {
	n := 0.0
	for _, p := range []time.Duration{v.keepalive, v.poll, v.drift, v.ipCheck} {
		if p > 0 {
			n += float64(w) / float64(p)
		}
	}
	return n
}

// BenchmarkIdle runs two daemons of the real binary on a 100-route file at
// the same time, one with the default periods (keepalive 15 s, file poll
// 30 s, drift check 60 s, address check 30 s) and one with only the
// keepalive and the address check left (poll_interval and drift_interval 0),
// and measures an idle window (60 s; REGAGENT_BENCH_IDLE overrides): CPU
// time (scheduler run time and utime+stime), context switches and CPU
// timeslices summed over all threads, and the commands registrysim
// received. Target: no wakeups but the keepalive.
func BenchmarkIdle(b *testing.B) {
	bin := buildBinary(b)
	window := idleWindow(b)
	variants := []idleVariant{
		{name: "defaults", keepalive: 15 * time.Second, poll: 30 * time.Second, drift: time.Minute, ipCheck: 30 * time.Second},
		{name: "keepalive_only", extra: "reload:\n  poll_interval: 0s\nreconcile:\n  drift_interval: 0s\n",
			keepalive: 15 * time.Second, ipCheck: 30 * time.Second},
	}
	for b.Loop() {
		daemons := make([]*daemon, len(variants))
		for i, v := range variants {
			daemons[i] = startDaemon(b, bin, fileSpec{Routes: 100, HealthEvery: 10, Timeout: "30s", Extra: v.extra})
		}
		time.Sleep(2 * time.Second) // let the initial sync's garbage settle
		type result struct {
			before, after procSample
			cmds          map[string]int
			busy          []string // "+15s:12": the seconds with context switches, and how many
		}
		results := make([]result, len(variants))
		var wg sync.WaitGroup
		for i, d := range daemons {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c0 := d.sim.CommandCount()
				before := d.sample(b)
				// Sample every second, to see when the process woke up.
				var busy []string
				prev := before
				for t := time.Second; t <= window; t += time.Second {
					time.Sleep(time.Until(before.At.Add(t)))
					s := d.sample(b)
					if n := s.Voluntary + s.Invol - prev.Voluntary - prev.Invol; n > 0 {
						busy = append(busy, fmt.Sprintf("+%ds:%d", int(t/time.Second), n))
					}
					prev = s
				}
				results[i] = result{before, prev, commandNames(d.sim.Commands()[c0:]), busy}
			}()
		}
		wg.Wait()
		for i, v := range variants {
			r := results[i]
			elapsed := r.after.At.Sub(r.before.At)
			run := time.Duration(r.after.RunNS - r.before.RunNS)
			ticks := r.after.cpu() - r.before.cpu()
			ctxsw := (r.after.Voluntary + r.after.Invol) - (r.before.Voluntary + r.before.Invol)
			events := v.expected(elapsed)
			p := v.name + "-"
			b.ReportMetric(ms(run), p+"cpu-ms")
			b.ReportMetric(ms(ticks), p+"utime+stime-ms")
			b.ReportMetric(100*run.Seconds()/elapsed.Seconds(), p+"cpu-%")
			b.ReportMetric(float64(ctxsw), p+"ctxsw")
			b.ReportMetric(float64(r.after.Slices-r.before.Slices), p+"timeslices")
			b.ReportMetric(float64(r.cmds["PING"]), p+"pings")
			b.ReportMetric(float64(r.cmds["ROUTE_LIST"]), p+"route-lists")
			b.ReportMetric(events, p+"timer-events")
			b.ReportMetric(float64(ctxsw)/events, p+"ctxsw/timer-event")
			b.Logf("%s: %v idle: cpu %v (utime+stime %v), %d context switches, %d threads, commands %s",
				v.name, elapsed.Round(time.Millisecond), run.Round(time.Microsecond), ticks, ctxsw, r.after.Threads, formatCounts(r.cmds))
			b.Logf("%s: seconds with context switches (second:count): %s", v.name, strings.Join(r.busy, " "))
		}
		b.StopTimer()
		// Later iterations (with -benchtime above 1x) start fresh daemons;
		// these stop when the benchmark ends.
		b.StartTimer()
	}
}
