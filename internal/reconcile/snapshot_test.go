package reconcile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestConvergedAndAppliedSnapshot covers what the agent's readiness and
// `regagent plan --status-addr` rely on: Converged follows the desired
// version, and the Applied copy survives JSON and plans to nothing.
func TestConvergedAndAppliedSnapshot(t *testing.T) {
	h := newHarness(t)
	if h.r.Status().Converged {
		t.Fatal("Converged before any desired state")
	}
	c := conf(rt("web", "example.com", "/", "http://w:3000"), withHealth(rt("api", "example.com", "/api", "http://a"), "/health"))
	c.Options = map[string]string{"timeout": "30s"}
	d := desired(c)
	h.sync(d)
	if !h.r.Status().Converged {
		t.Fatalf("Converged = false after a successful pass: %+v", h.r.Status())
	}
	if lp := h.r.Status().LastPlan; !strings.Contains(lp, "+ route web example.com/ -> http://w:3000") {
		t.Fatalf("LastPlan = %q, want the Diff of the pass", lp)
	}

	b, err := json.Marshal(h.r.Applied())
	if err != nil {
		t.Fatal(err)
	}
	// The status document is read by people: snake_case keys, durations
	// as "10s".
	for _, want := range []string{`"routes":{`, `"spec":{`, `"backend":"http://a"`, `"interval":"10s"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("Applied JSON lacks %s:\n%s", want, b)
		}
	}
	var back Applied
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Routes) != 2 || back.Routes["web"].ID == "" {
		t.Fatalf("Applied after JSON = %+v", back)
	}
	if p := Plan(d, back, PlanOptions{Now: time.Now()}); !p.Empty() {
		t.Fatalf("plan against the JSON copy of Applied is not empty:\n%s", Diff(p))
	}

	c.Routes[0].Backend = "http://w2:3000"
	h.r.setDesired(desired(c), 0, 0)
	if h.r.Status().Converged {
		t.Fatal("Converged = true for a desired state not applied yet")
	}
	if p := Plan(desired(c), h.r.Applied(), PlanOptions{Now: time.Now()}); p.Empty() {
		t.Fatal("plan for a backend change is empty")
	}
}

// Converged (what /readyz reports, with the connection state) stays true
// after a new session was registered and before anything was replayed into
// it: after a server restart (§8) the proxy routes nothing, yet the agent
// reports the current config as applied.
func TestConvergedFalseInNewSession(t *testing.T) {
	h := newHarness(t)
	d := desired(conf(rt("web", "example.com", "/", "http://w")))
	h.sync(d)
	if !h.r.Status().Converged {
		t.Fatal("not converged after sync")
	}
	gen := h.cl.Generation()
	if err := h.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	h.waitGeneration(gen)
	if got := h.srv.Resolve("example.com", "/"); got.Kind != 0 {
		t.Fatalf("routed before replay: %+v", got)
	}
	if h.r.Status().Converged {
		t.Fatalf("Converged = true in a new, empty session (generation %d, applied for %d): nothing is routed",
			h.cl.Generation(), h.r.Status().Generation)
	}
}
