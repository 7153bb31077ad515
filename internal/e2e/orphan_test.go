package e2e

import (
	"fmt"
	"strings"
	"testing"

	"regagent/internal/agent"
)

// Scenario 4: the connection drops, and while the agent is disconnected the
// file moves two routes to new backends. The old session's routes stay in
// the proxy as orphans (§7); after reconnecting, no path or sub-path of any
// domain may still reach an old backend, and nothing old is left in the
// proxy's list.
func TestDropAndBackendChangeWhileDisconnected(t *testing.T) {
	t.Parallel()
	before := []route{
		{name: "web", domains: []string{"a.example.com", "b.example.com"}, path: "/", backend: "http://old-web:3000"},
		{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://old-api:3001"},
		{name: "static", domains: []string{"c.example.com"}, path: "/", backend: "http://static:3002"},
	}
	after := []route{
		{name: "web", domains: []string{"a.example.com", "b.example.com"}, path: "/", backend: "http://new-web:3000"},
		{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://new-api:3001"},
		before[2],
	}
	r := startRun(t, file{proxy: fastReconnect, routes: before}.render(), setup{relay: true})
	r.firstApply(before)

	// Drop the line and keep the agent out while the file changes.
	m := r.events.mark()
	r.relay.Refuse(true)
	r.relay.ResetAll()
	r.await(agent.EventDisconnected, m)
	if err := resolvesTo(r.sim, before, ""); err != nil {
		t.Fatalf("the proxy should keep serving a dropped session's routes (§7): %v", err)
	}
	r.write(file{proxy: fastReconnect, routes: after}.render())
	r.await(agent.EventConfigValidated, m)
	r.awaitDesired()
	r.relay.Refuse(false)

	probes := []string{"/", "/x", "/sub/page", "/api", "/api/v1/items", "/apix", "/ap"}
	r.until("no path reaches an old backend", func() error {
		if err := servedLive(r.sim, after); err != nil {
			return err
		}
		for _, pr := range r.sim.ProxyRoutes() {
			if strings.HasPrefix(pr.Backend, "http://old-") {
				return fmt.Errorf("proxy list still holds %v %s -> %s (session %s)", pr.Domains, pr.Path, pr.Backend, pr.Session)
			}
		}
		for _, d := range []string{"a.example.com", "b.example.com"} {
			for _, p := range probes {
				if got := r.sim.Resolve(d, p); strings.HasPrefix(got.Backend, "http://old-") {
					return fmt.Errorf("Resolve(%s, %s) = %s, an old backend", d, p, got.Backend)
				}
			}
		}
		return nil
	})
	if got := r.sim.Resolve("b.example.com", "/api/v1").Backend; got != "http://new-web:3000" {
		t.Errorf("Resolve(b.example.com, /api/v1) = %q, want the web route's new backend", got)
	}
	if got := r.sim.Resolve("a.example.com", "/api/v1").Backend; got != "http://new-api:3001" {
		t.Errorf("Resolve(a.example.com, /api/v1) = %q, want the api route's new backend", got)
	}
	ev, _ := r.await(agent.EventConfigApplied, m)
	t.Logf("e2e: orphan_purge applied=%+v", ev.Detail)
}
