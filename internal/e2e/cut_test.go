package e2e

import (
	"fmt"
	"testing"

	"regagent/internal/agent"
)

// A connection cut in the middle of a batch (the relay forwards the first n
// bytes of the agent's next write, then resets both sides): whatever part
// of the backend switch the proxy processed, the agent reconnects,
// replays, and the routing ends on the new backend with nothing of the
// old one left. n walks through the whole write.
func TestLineCutMidBatch(t *testing.T) {
	t.Parallel()
	// No PINGs: the next bytes the agent sends are the edit's batch. Every
	// cut is a flap, so the reconnect wait soon sits at the schedule's
	// maximum: keep that short (the floor), the cuts are what is tested.
	proxy := []string{"keepalive_interval: 1h", "backoff:", "  initial: 10ms", "  max: 50ms"}
	rt := func(i int) []route {
		return []route{
			{name: "web", domains: []string{"a.example.com"}, path: "/", backend: fmt.Sprintf("http://web-v%d:3000", i), health: true},
			{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://api:3001"},
		}
	}
	r := startRun(t, file{proxy: proxy, routes: rt(0)}.render(), setup{relay: true})
	r.firstApply(rt(0))

	// Measure the write of one switch, then cut every later one at n.
	r.sim.ResetCommands()
	m := r.events.mark()
	r.write(file{proxy: proxy, routes: rt(1)}.render())
	r.await(agent.EventConfigApplied, m)
	size := 0
	for _, c := range r.sim.Commands() {
		size += len(c) + 1
	}
	t.Logf("one backend switch: %d bytes, %q", size, r.sim.Commands())

	step := max(size/12, 1)
	i := 1
	for n := 1; n < size; n += step {
		i++
		m := r.events.mark()
		old := liveSession(r.sim)
		r.relay.CutAfter(n)
		r.write(file{proxy: proxy, routes: rt(i)}.render())
		r.await(agent.EventDisconnected, m)
		r.until(fmt.Sprintf("cut after %d bytes: the new backend, nothing old", n), func() error {
			if sid := liveSession(r.sim); sid == "" || sid == old {
				return errNoNewSession
			}
			if err := servedLive(r.sim, rt(i)); err != nil {
				return err
			}
			for _, pr := range r.sim.ProxyRoutes() {
				if pr.Path == "/" && pr.Backend != rt(i)[0].backend {
					return fmt.Errorf("proxy still holds %s for %v %s", pr.Backend, pr.Domains, pr.Path)
				}
			}
			return nil
		})
	}
	t.Logf("e2e: line_cut cuts=%d batch_bytes=%d", i-1, size)
}
