package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, string(data))
	if got, want := len(cfg.Routes), 3; got != want {
		t.Fatalf("routes=%d, want %d", got, want)
	}
	if got, want := cfg.Routes[0].Backend, "http://10.1.2.3:3000"; got != want {
		t.Errorf("backend=%q, want %q", got, want)
	}
	if got, want := cfg.Proxy.Address, "registry.internal:9000"; got != want {
		t.Errorf("address=%q, want %q (the ${VAR:-default})", got, want)
	}
	if got, want := cfg.Maintenance.Page, "http://10.1.2.3:8081/maintenance"; got != want {
		t.Errorf("page=%q, want %q", got, want)
	}
	sum := sha256.Sum256(data)
	if got, want := cfg.Hash, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("hash=%s, want %s", got, want)
	}
	if cfg.Maintenance.Active(time.Now()) {
		t.Error("example maintenance is active, want off")
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, minimal)
	want := defaultConfig("host-1")
	want.Proxy.Address = "registry:9000"
	if cfg.Proxy != want.Proxy || cfg.Shutdown != want.Shutdown || cfg.Reload != want.Reload || cfg.Reconcile != want.Reconcile {
		t.Errorf("got %+v %+v %+v %+v, want defaults", cfg.Proxy, cfg.Shutdown, cfg.Reload, cfg.Reconcile)
	}
	if got, want := cfg.Service.Instance, "host-1"; got != want {
		t.Errorf("instance=%q, want %q", got, want)
	}
	if got := cfg.Routes[0].Priority; got != 0 {
		t.Errorf("priority=%d, want 0", got)
	}
	if cfg.Proxy.DialTimeout.D() != 5*time.Second || cfg.Reload.PollInterval.D() != 30*time.Second {
		t.Errorf("dial=%v poll=%v", cfg.Proxy.DialTimeout, cfg.Reload.PollInterval)
	}
}

func TestExplicitZeroSurvivesDefaults(t *testing.T) {
	cfg := mustParse(t, minimal+"reload: {poll_interval: 0s}\nreconcile: {drift_interval: 0}\n")
	if cfg.Reload.PollInterval != 0 || cfg.Reconcile.DriftInterval != 0 {
		t.Errorf("poll=%v drift=%v, want 0 (off)", cfg.Reload.PollInterval, cfg.Reconcile.DriftInterval)
	}
	if got, want := cfg.Reload.Debounce.D(), DefaultDebounce; got != want {
		t.Errorf("debounce=%v, want %v", got, want)
	}
}

func TestRoutesExplicitlyEmpty(t *testing.T) {
	cfg := mustParse(t, "proxy: {address: r:1}\nservice: {name: s}\nroutes: []\n")
	if !cfg.RoutesExplicitlyEmpty || len(cfg.Routes) != 0 {
		t.Errorf("explicit=%v routes=%d, want true 0", cfg.RoutesExplicitlyEmpty, len(cfg.Routes))
	}
	if cfg := mustParse(t, minimal); cfg.RoutesExplicitlyEmpty {
		t.Error("explicit=true for a file with routes")
	}
}

func TestInterpolation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://${SELF_IP}:${PORT}", "http://10.1.2.3:3000"},
		{"http://${NOPE:-h}:1", "http://h:1"},
		{"http://${EMPTY:-h}:1", "http://h:1"}, // :- also replaces an empty value
		{"http://h:1/$$x", "http://h:1/$x"},
		{"http://h:1/$x", "http://h:1/$x"},
	}
	for _, tt := range tests {
		cfg := mustParse(t, strings.Replace(minimal, "http://10.0.0.1:3000", tt.in, 1))
		if got := cfg.Routes[0].Backend; got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	// A number may come from a variable.
	cfg := mustParse(t, withService("  name: shop\n  maintenance_port: ${PORT}\n"))
	if got := cfg.Service.MaintenancePort; got != 3000 {
		t.Errorf("port=%d, want 3000", got)
	}
	// Keys are never expanded.
	if errs := parseErrors(t, minimal+"headers:\n  X-${PORT}: a\n"); len(errs) != 1 || !strings.Contains(errs[0], `"X-${PORT}" is not a valid HTTP header name`) {
		t.Errorf("errors=%q", errs)
	}
}

func TestErrorsIsAndAs(t *testing.T) {
	_, err := Parse(strings.NewReader(minimal+"headers: {X-A: \"a|b\"}\nreload:\n  debounce: ${NOPE}\n"), testOptions())
	for _, sentinel := range []error{ErrUnsafe, ErrUnsetVar} {
		if !errors.Is(err, sentinel) {
			t.Errorf("errors.Is(err, %v)=false", sentinel)
		}
	}
	if errors.Is(err, ErrUnknownKey) {
		t.Error("errors.Is(err, ErrUnknownKey)=true")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
	if e.File != "registry.yaml" || e.Line != 10 || e.Col != 16 || e.Path != "headers.X-A" || !errors.Is(e, ErrUnsafe) {
		t.Errorf("first error=%+v", e)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	if err := os.WriteFile(path, []byte(minimal+"bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, ParseOptions{Hostname: "h"})
	if err == nil || !strings.HasPrefix(err.Error(), path+":10:1: bogus: unknown key") {
		t.Errorf("err=%v, want it placed in %s", err, path)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"), ParseOptions{})
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "cannot read config: ") {
		t.Errorf("err=%v, want wrapped ErrNotExist", err)
	}
}

func TestMaintenance(t *testing.T) {
	cfg := mustParse(t, withService("  name: shop\n  maintenance_port: 8081\n")+
		"  - name: api\n    domains: [api.example.com]\n    path: /api\n    backend: http://h:2\n"+
		"maintenance: {enabled: true, targets: [api.example.com], until: 2030-01-01T00:00:00Z}\n")
	if got, want := cfg.MaintenancePage("10.1.2.3"), "http://10.1.2.3:8081/"; got != want {
		t.Errorf("page=%q, want %q", got, want)
	}
	if got, want := cfg.MaintenancePage("fd00::1"), "http://[fd00::1]:8081/"; got != want {
		t.Errorf("page=%q, want %q", got, want)
	}
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := cfg.MaintenanceRoutes(now); len(got) != 1 || got[0] != "api" {
		t.Errorf("routes=%v, want [api]", got)
	}
	if got := cfg.MaintenanceRoutes(now.AddDate(2, 0, 0)); got != nil {
		t.Errorf("after until: routes=%v, want none", got)
	}
	cfg.Maintenance.Targets = nil
	if got := cfg.MaintenanceRoutes(now); len(got) != 2 {
		t.Errorf("no targets: routes=%v, want every route", got)
	}
	if got := mustParse(t, minimal).MaintenancePage("10.1.2.3"); got != "" {
		t.Errorf("page=%q without maintenance_port, want \"\"", got)
	}
	// Targets resolve to routes in file order, whatever their own order;
	// those that designate nothing are listed, each time they occur.
	cfg.Maintenance.Targets = []string{"/api", "nope", "shop.example.com", "nope"}
	names, unmatched := cfg.TargetRoutes()
	if !slices.Equal(names, []string{"web", "api"}) || !slices.Equal(unmatched, []string{"nope", "nope"}) {
		t.Errorf("TargetRoutes() = %v, %v; want [web api], [nope nope]", names, unmatched)
	}
}

// TestBoundsFitLineBudget checks the arithmetic behind the bounds in
// rules.go: the largest command each bound allows stays under 60 KiB.
func TestBoundsFitLineBudget(t *testing.T) {
	sid := strings.Repeat("i", maxServiceLen) + "-1795652634-331452"
	domains := strings.TrimSuffix(strings.Repeat(strings.Repeat("d", maxHostLen)+",", maxDomains), ",")
	lines := map[string]int{
		"ROUTE_ADD": len("ROUTE_ADD|" + sid + "|" + domains + "|" + strings.Repeat("/", maxPathLen) + "|" +
			strings.Repeat("u", maxURLLen) + "|-9223372036854775808"),
		"ROUTE_ADD_BULK one entry": len("ROUTE_ADD_BULK|"+sid+`|[{"domains":[`) + maxDomains*(maxHostLen+3) +
			len(`],"path":"","backend_url":"","priority":-9223372036854775808}]`) + 6*maxPathLen + 6*maxURLLen, // JSON escapes \u00xx at worst
		"REGISTER":    len("REGISTER|") + 2*maxServiceLen + len("|65535|") + maxMetadataJSON + 2,
		"HEADERS_SET": len("HEADERS_SET|"+sid+"|ALL|") + maxHeaderName + 1 + maxHeaderValue,
		"MAINT_ENTER": len("MAINT_ENTER|"+sid+"|ALL|") + maxURLLen,
		"HEALTH_SET":  len("HEALTH_SET|"+sid+"|r999999999|") + maxPathLen + 60,
		"OPTIONS_SET": len("OPTIONS_SET|"+sid+"|ALL|health_check_interval|") + maxOptionLen,
	}
	for cmd, n := range lines {
		if n >= lineBudget {
			t.Errorf("%s can be %d bytes, over the %d budget", cmd, n, lineBudget)
		}
	}
}

// TestParserBuildsTheValidatorOnce: a Parser's parse of a small file costs
// fewer allocations than building a Parser alone, so a parse cannot be
// building the validator again.
func TestParserBuildsTheValidatorOnce(t *testing.T) {
	ps := NewParser()
	build := testing.AllocsPerRun(5, func() { NewParser() })
	parse := testing.AllocsPerRun(5, func() {
		if _, err := ps.Parse(strings.NewReader(minimal), testOptions()); err != nil {
			t.Fatal(err)
		}
	})
	if parse >= build {
		t.Fatalf("a parse with a held Parser makes %.0f allocations, building a Parser %.0f", parse, build)
	}
}

// TestParserConcurrentUse: one Parser serves parses running at once, each
// with the outcome it has alone (run with -race).
func TestParserConcurrentUse(t *testing.T) {
	ps := NewParser()
	bad := minimal + "options: {timeout: soon}\n"
	want := parseErrors(t, bad)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := minimal
			if i%2 == 1 {
				doc = bad
			}
			_, err := ps.Parse(strings.NewReader(doc), testOptions())
			switch {
			case doc == minimal && err != nil:
				errs <- err
			case doc == bad && (err == nil || err.Error() != strings.Join(want, "\n")):
				errs <- fmt.Errorf("invalid file: %v, want %q", err, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
