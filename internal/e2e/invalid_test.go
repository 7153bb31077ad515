package e2e

import (
	"fmt"
	"strings"
	"testing"

	"regagent/internal/agent"
)

// Scenario 6: valid and invalid files alternate. For an invalid file (syntax
// error, bad backend, `|` in a value, truncated mid-route, truncated before
// routes) the registry receives no command at all, not even when the file
// is re-read on SIGHUP; the last good routing stays, the status shows the
// errors and readiness is unchanged. The next valid file is applied.
func TestInvalidEdits(t *testing.T) {
	t.Parallel()
	// No keepalive PINGs or drift checks during the test: any command the
	// registry receives comes from an edit.
	quiet := []string{"keepalive_interval: 1h"}
	valid := func(i int) (string, []route) {
		routes := []route{
			{name: "web", domains: []string{"a.example.com"}, path: "/", backend: fmt.Sprintf("http://web-v%d:3000", i)},
			{name: "api", domains: []string{"a.example.com"}, path: "/api", backend: "http://api:3001", health: true},
		}
		return file{proxy: quiet, routes: routes, headers: map[string]string{"X-Version": fmt.Sprint(i)}}.render(), routes
	}
	content, good := valid(0)
	r := startRun(t, content, setup{})
	r.firstApply(good)

	invalid := []struct {
		name    string
		content func(valid string) string
	}{
		{"syntax_error", func(v string) string { return strings.Replace(v, "routes:\n", "routes: [\n", 1) }},
		{"bad_backend", func(v string) string { return strings.Replace(v, "http://api:3001", "api:3001", 1) }},
		{"pipe_in_value", func(v string) string { return strings.Replace(v, "X-Version: \"", "X-Version: \"a|", 1) }},
		{"truncated_mid_route", func(v string) string { return v[:strings.LastIndex(v, "backend:")+4] }},
		{"truncated_before_routes", func(v string) string { return v[:strings.Index(v, "routes:")] }},
	}
	for i, bad := range invalid {
		next, nextRoutes := valid(i + 1)
		t.Run(bad.name, func(t *testing.T) {
			body := bad.content(content)
			if body == content {
				t.Fatal("the invalid content equals the valid one")
			}
			r.sim.ResetCommands()
			m := r.events.mark()
			writeFile(t, r.path, body)
			ev, pos := r.events.await(t, "CONFIG_VALIDATED or CONFIG_INVALID", m, func(ev agent.Event) bool {
				return ev.Name == agent.EventConfigInvalid || ev.Name == agent.EventConfigValidated
			})
			if ev.Name != agent.EventConfigInvalid {
				t.Fatalf("the file was taken as valid:\n%s", body)
			}
			errs := ev.Detail.(agent.ConfigInvalid).Errors
			t.Logf("CONFIG_INVALID: %q", errs)
			if len(errs) == 0 {
				t.Errorf("CONFIG_INVALID carries no positioned errors: %+v", ev.Detail)
			}
			// SIGHUP re-reads the same invalid content.
			r.agent.Reload()
			r.events.await(t, "CONFIG_INVALID after reload", pos, isType(agent.EventConfigInvalid))
			if n := r.sim.CommandCount(); n != 0 {
				t.Fatalf("the registry received %d commands for an invalid file: %q", n, r.sim.Commands())
			}
			if err := servedLive(r.sim, good); err != nil {
				t.Fatalf("the last good routing is gone: %v", err)
			}
			if err := exactTable(r.sim, good); err != nil {
				t.Fatal(err)
			}
			s := r.snapshot()
			if s.ConfigValid || len(s.Errors) == 0 {
				t.Errorf("status valid=%v errors=%q, want the errors", s.ConfigValid, s.Errors)
			}
			if !s.Ready {
				t.Errorf("not ready (%s) after an invalid edit; readiness should not change", s.NotReady)
			}

			// The next valid file recovers without a restart.
			writeFile(t, r.path, next)
			// The proxy's table is right before the pass that made it so
			// publishes its success: wait for readiness too, or the next
			// invalid edit, read at once when saved by rename, could find
			// the agent between the two.
			r.events.until(t, "the next valid file applied", func() error {
				if err := servedLive(r.sim, nextRoutes); err != nil {
					return err
				}
				if ok, why := r.agent.Ready(); !ok {
					return fmt.Errorf("not ready: %s", why)
				}
				return exactTable(r.sim, nextRoutes)
			})
			content, good = next, nextRoutes
			if s := r.snapshot(); !s.ConfigValid {
				t.Errorf("status still invalid after a valid file: %q", s.Errors)
			}
		})
	}
}
