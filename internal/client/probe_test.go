package client

import (
	"regagent/internal/registrysim"
	"testing"
)

// REGISTER carries a probe: a route staged and rolled back in the same
// write. Its id tells a fresh or restarted proxy (§8), and it leaves
// nothing staged or applied.
func TestRegisterProbesTheNextRouteID(t *testing.T) {
	srv := startSim(t, registrysim.Options{})
	h := connected(t, srv.Addr(), nil)
	if got := h.c.ProbedRouteID(); got != "r1" {
		t.Fatalf("ProbedRouteID on a fresh proxy = %q, want r1", got)
	}
	info, err := getSessionInfo(ctxT(t), h.c)
	if err != nil {
		t.Fatal(err)
	}
	if info.RoutesStaged != 0 || info.RoutesActive != 0 {
		t.Fatalf("the probe left %d staged and %d active routes", info.RoutesStaged, info.RoutesActive)
	}
	if n := len(srv.ProxyRoutes()); n != 0 {
		t.Fatalf("the probe reached the proxy: %d routes", n)
	}

	// A new session on the same proxy probes a later id.
	gen := h.c.Generation()
	srv.DropConnections()
	eventually(t, "a new session", func() bool { return h.c.Generation() > gen && h.c.ProbedRouteID() != "" })
	if got := h.c.ProbedRouteID(); got != "r2" {
		t.Fatalf("ProbedRouteID after a reconnect = %q, want r2", got)
	}

	// A restarted proxy starts its ids again.
	gen = h.c.Generation()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a session on the restarted proxy", func() bool { return h.c.Generation() > gen })
	if got := h.c.ProbedRouteID(); got != "r1" {
		t.Fatalf("ProbedRouteID after a proxy restart = %q, want r1", got)
	}
}
