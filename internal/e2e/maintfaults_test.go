package e2e

import (
	"fmt"
	"testing"

	"regagent/internal/agent"
)

// Maintenance is desired state too: it survives a proxy restart (§8: the
// proxy forgets it) and a reset (§7: the proxy keeps it per backend string,
// the new session does not own it), and an exit written while the agent
// was disconnected still ends it after the reconnect. For the whole
// service and for one target.
func TestMaintenanceSurvivesFaults(t *testing.T) {
	t.Parallel()
	routes := []route{
		{name: "web", domains: []string{"a.example.com"}, path: "/", backend: "http://web:3000"},
		{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://api:3001"},
	}
	for _, tc := range []struct {
		name    string
		targets string
		inMaint []string
	}{
		{"service", "", []string{"web", "api"}},
		{"path", "  targets: [/api]\n", []string{"api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			on := file{proxy: fastReconnect, routes: routes,
				maintenance: "maintenance:\n  enabled: true\n" + tc.targets + "  page: " + maintPage + "\n"}.render()
			off := file{proxy: fastReconnect, routes: routes}.render()
			r := startRun(t, on, setup{relay: true})
			// In maintenance, and served by the live session's routes
			// (not by the old session's orphans, §7).
			inMaint := func() error {
				sid := liveSession(r.sim)
				for _, rt := range routes {
					if got := r.sim.Resolve(rt.domains[0], rt.path); sid == "" || got.Session != sid {
						return fmt.Errorf("Resolve(%s, %s) served by session %q, want the live session %q", rt.domains[0], rt.path, got.Session, sid)
					}
				}
				return maintRouting(r.sim, routes, tc.inMaint)
			}
			r.await(agent.EventConfigApplied, 0)
			r.until("maintenance entered", inMaint)

			old := liveSession(r.sim)
			r.sim.Restart()
			r.until("maintenance back after a proxy restart", func() error {
				if sid := liveSession(r.sim); sid == "" || sid == old {
					return errNoNewSession
				}
				return inMaint()
			})

			old = liveSession(r.sim)
			r.relay.ResetAll()
			r.until("maintenance kept after a reset", func() error {
				if sid := liveSession(r.sim); sid == "" || sid == old {
					return errNoNewSession
				}
				return inMaint()
			})

			// Leave maintenance while the agent cannot reach the proxy.
			m := r.events.mark()
			r.relay.Refuse(true)
			r.relay.ResetAll()
			r.await(agent.EventDisconnected, m)
			r.write(off)
			r.await(agent.EventConfigValidated, m)
			r.awaitDesired()
			r.relay.Refuse(false)
			r.until("maintenance left after the reconnect", func() error {
				if err := servedLive(r.sim, routes); err != nil {
					return err
				}
				return maintRouting(r.sim, routes, nil)
			})
		})
	}
}
