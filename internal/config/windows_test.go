package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// windowRoutes are two routes for the window tests, after minimal's web.
const windowRoutes = minimal + `  - name: api
    domains: [api.example.com]
    path: /api
    backend: http://10.0.0.2:3000
`

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// parseAt parses doc with the clock at now.
func parseAt(tb testing.TB, doc string, now time.Time) (*Config, error) {
	tb.Helper()
	opts := testOptions()
	opts.Now = func() time.Time { return now }
	return Parse(strings.NewReader(doc), opts)
}

func TestMaintenanceWindowsInForce(t *testing.T) {
	doc := windowRoutes + `maintenance:
  enabled: true
  targets: [web]
  reason: top
  from: 2030-01-01T10:00:00Z
  until: 2030-01-01T11:00:00Z
  windows:
    - name: db
      targets: [/api]
      reason: database upgrade
      from: 2030-01-01T11:00:00Z   # may start when the other ends
      until: 2030-01-01T12:30:00+01:00
    - from: 2030-02-01T00:00:00Z
      until: 2030-02-01T01:00:00Z
`
	cfg, err := parseAt(t, doc, at("2029-12-31T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Fatalf("warnings %v, want none", cfg.Warnings)
	}
	ws := cfg.MaintenanceWindows()
	if got := []string{ws[0].Name, ws[1].Name, ws[2].Name}; !slices.Equal(got, []string{"maintenance", "db", "maintenance.windows[1]"}) {
		t.Fatalf("window names %q", got)
	}
	for _, tt := range []struct {
		now    string
		window string // "" for none
		routes []string
	}{
		{"2030-01-01T09:59:59Z", "", nil},
		{"2030-01-01T10:00:00Z", "maintenance", []string{"web"}},
		{"2030-01-01T10:59:59Z", "maintenance", []string{"web"}},
		{"2030-01-01T11:00:00Z", "db", []string{"api"}},
		{"2030-01-01T11:29:59Z", "db", []string{"api"}},
		{"2030-01-01T11:30:00Z", "", nil}, // 12:30+01:00
		{"2030-02-01T00:30:00Z", "maintenance.windows[1]", []string{"web", "api"}},
		{"2030-02-01T01:00:00Z", "", nil},
	} {
		w, ok := cfg.MaintenanceAt(at(tt.now))
		if ok != (tt.window != "") || w.Name != tt.window {
			t.Errorf("MaintenanceAt(%s) = %q %v, want %q", tt.now, w.Name, ok, tt.window)
		}
		if got := cfg.MaintenanceRoutes(at(tt.now)); !slices.Equal(got, tt.routes) {
			t.Errorf("MaintenanceRoutes(%s) = %v, want %v", tt.now, got, tt.routes)
		}
	}
	if cfg.Maintenance.Active(at("2030-01-01T09:00:00Z")) || !cfg.Maintenance.Active(at("2030-01-01T10:00:00Z")) {
		t.Error("Maintenance.Active ignores from")
	}
	// The block switched off takes its window with it, not the others.
	cfg.Maintenance.Enabled = false
	if w, ok := cfg.MaintenanceAt(at("2030-01-01T10:30:00Z")); ok {
		t.Errorf("disabled block in force: %+v", w)
	}
	if w, _ := cfg.MaintenanceAt(at("2030-01-01T11:00:00Z")); w.Name != "db" {
		t.Errorf("window db not in force with the block disabled: %+v", w)
	}
}

func TestMaintenanceWindowErrors(t *testing.T) {
	tests := []struct {
		name, maint string
		want        []string
	}{
		{"until before from", `  enabled: true
  from: 2030-01-01T10:00:00Z
  until: 2030-01-01T10:00:00Z
`, []string{"registry.yaml:17:10: maintenance.until: 2030-01-01T10:00:00Z must be after from (2030-01-01T10:00:00Z)"}},
		{"window without its bounds", `  windows:
    - name: w
`, []string{
			"registry.yaml:16:7: maintenance.windows[0].from: is required",
			"registry.yaml:16:7: maintenance.windows[0].until: is required",
		}},
		{"overlapping windows", `  windows:
    - {name: a, from: 2030-01-01T10:00:00Z, until: 2030-01-01T12:00:00Z}
    - {name: b, from: 2030-01-01T14:00:00Z, until: 2030-01-01T15:00:00Z}
    - {name: c, from: 2030-01-01T11:59:59Z, until: 2030-01-01T13:00:00Z}
`, []string{"registry.yaml:18:23: maintenance.windows[2]: overlaps maintenance.windows[0] (line 16, from 2030-01-01T10:00:00Z until 2030-01-01T12:00:00Z): " +
			"windows must not overlap, at most one is in force at a time"}},
		{"a window inside a longer one", `  windows:
    - {from: 2030-01-01T10:00:00Z, until: 2030-01-01T20:00:00Z}
    - {from: 2030-01-01T11:00:00Z, until: 2030-01-01T12:00:00Z}
    - {from: 2030-01-01T13:00:00Z, until: 2030-01-01T14:00:00Z}
`, []string{
			"registry.yaml:17:14: maintenance.windows[1]: overlaps maintenance.windows[0] (line 16, from 2030-01-01T10:00:00Z until 2030-01-01T20:00:00Z): " +
				"windows must not overlap, at most one is in force at a time",
			"registry.yaml:18:14: maintenance.windows[2]: overlaps maintenance.windows[0] (line 16, from 2030-01-01T10:00:00Z until 2030-01-01T20:00:00Z): " +
				"windows must not overlap, at most one is in force at a time",
		}},
		// The enabled block with no bounds is in force for good: any
		// window overlaps it.
		{"enabled block without bounds", `  enabled: true
  windows:
    - {from: 2030-01-01T10:00:00Z, until: 2030-01-01T20:00:00Z}
`, []string{"registry.yaml:17:14: maintenance.windows[0]: overlaps maintenance (line 15, always with no end): " +
			"windows must not overlap, at most one is in force at a time"}},
		{"unknown target in a window", `  windows:
    - {targets: [api, nope], from: 2030-01-01T10:00:00Z, until: 2030-01-01T20:00:00Z}
`, []string{`registry.yaml:16:23: maintenance.windows[0].targets[1]: "nope" matches no route name, path or domain`}},
		{"duplicate names", `  windows:
    - {name: db, from: 2030-01-01T10:00:00Z, until: 2030-01-01T11:00:00Z}
    - {name: db, from: 2030-01-02T10:00:00Z, until: 2030-01-02T11:00:00Z}
`, []string{`registry.yaml:17:14: maintenance.windows[1].name: window name "db" is already used by maintenance.windows[0] (line 16)`}},
		{"bad name", `  windows:
    - {name: "a b", from: 2030-01-01T10:00:00Z, until: 2030-01-01T11:00:00Z}
`, []string{`registry.yaml:16:14: maintenance.windows[0].name: "a b" is not a valid name (use letters, digits, ".", "_" and "-", starting with a letter or digit)`}},
		{"not RFC 3339", `  windows:
    - {from: "2030-01-01 10:00", until: 2030-01-01T11:00:00Z}
`, []string{`registry.yaml:16:14: maintenance.windows[0].from: "2030-01-01 10:00" is not an RFC 3339 time (e.g. "2026-11-26T18:00:00Z")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAt(t, windowRoutes+"maintenance:\n"+tt.maint, at("2029-01-01T00:00:00Z"))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v, want Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMaintenanceWindowCount(t *testing.T) {
	var b strings.Builder
	b.WriteString(windowRoutes + "maintenance:\n  windows:\n")
	start := at("2030-01-01T00:00:00Z")
	for i := range 101 {
		from := start.Add(time.Duration(i) * time.Hour)
		b.WriteString("    - {from: " + from.Format(time.RFC3339) + ", until: " + from.Add(time.Minute).Format(time.RFC3339) + "}\n")
	}
	_, err := parseAt(t, b.String(), start)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "maintenance.windows: lists 101 entries; the limit is 100") {
		t.Fatalf("Parse = %v, want the window limit", err)
	}
}

// TestMaintenanceWindowWarnings: a window in the past and a schedule that
// is not enabled are warnings; the file stays valid. Whether a window is
// past depends on the clock of ParseOptions.Now.
func TestMaintenanceWindowWarnings(t *testing.T) {
	doc := windowRoutes + `maintenance:
  from: 2030-03-01T00:00:00Z
  until: 2030-03-01T01:00:00Z
  windows:
    - {name: old, from: 2030-01-01T10:00:00Z, until: 2030-01-01T11:00:00Z}
    - {name: new, from: 2030-02-01T10:00:00Z, until: 2030-02-01T11:00:00Z}
`
	cfg, err := parseAt(t, doc, at("2030-01-15T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"registry.yaml:15:9: warning: maintenance.from: maintenance is not enabled: this window is off (set enabled: true to schedule it)",
		"registry.yaml:18:54: warning: maintenance.windows[0].until: this window ended at 2030-01-01T11:00:00Z: it is in the past and does nothing",
	}
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.Error())
		if !errors.Is(w, ErrIneffective) || !w.Warning {
			t.Errorf("warning %v: cause %v, Warning %v", w, w.Cause, w.Warning)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// An enabled block past its until is a window in the past too; at
	// the very end of a window it is over.
	cfg, err = parseAt(t, windowRoutes+"maintenance: {enabled: true, until: 2030-01-01T00:00:00Z}\n", at("2030-01-01T00:00:00Z"))
	if err != nil || len(cfg.Warnings) != 1 || cfg.Warnings[0].Path != "maintenance.until" {
		t.Fatalf("Parse = %v, warnings %v; want one on maintenance.until", err, cfg.Warnings)
	}
	cfg, err = parseAt(t, doc, at("2029-01-01T00:00:00Z"))
	if err != nil || len(cfg.Warnings) != 1 {
		t.Fatalf("Parse = %v, warnings %v; want only the block's", err, cfg.Warnings)
	}
}
