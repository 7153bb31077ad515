package reconcile

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"regagent/internal/config"
)

// Desired is the state the proxy should be in for one service.
type Desired struct {
	Service string
	// Routes are sorted by Name.
	Routes []RouteSpec
	// Options and Headers are service-wide (§3: only the ALL target works).
	Options map[string]string
	Headers map[string]string

	Maintenance MaintenanceSpec

	// AllowMassRemoval and RoutesExplicitlyEmpty lift the blast-radius
	// guard (planner rule 11, docs/planner.md).
	AllowMassRemoval      bool
	RoutesExplicitlyEmpty bool
}

// RouteSpec is one route as it is sent to the proxy.
type RouteSpec struct {
	Name string `json:"name"`
	// Domains are sorted and without duplicates: their order means nothing
	// to the proxy, so reordering them in the file changes nothing.
	Domains  []string    `json:"domains"`
	Path     string      `json:"path"`
	Backend  string      `json:"backend"`
	Priority int         `json:"priority,omitempty"`
	Health   *HealthSpec `json:"health,omitempty"`
}

// HealthSpec is a route's active health check.
type HealthSpec struct {
	Path     string        `json:"path"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
}

// MaintenanceSpec is the desired maintenance state, as the config decides
// it: which windows there are, which routes a target designates and the
// default page are config's rules, applied here once.
type MaintenanceSpec struct {
	// Page is the maintenance page URL of every window; "" means the
	// proxy's built-in page.
	Page string
	// Windows are the file's maintenance windows, in the order of
	// config.Config.MaintenanceWindows. Config refuses overlapping
	// windows; were some to overlap, the first in force wins.
	Windows []WindowSpec
}

// WindowSpec is one maintenance window.
type WindowSpec struct {
	Name string `json:"name"`
	// Targets are route names, paths or domains; none means the whole
	// service.
	Targets []string `json:"targets,omitempty"`
	// Routes are the names of the routes the targets designate (every
	// route when there are none); Unmatched the targets that designate
	// none. See config.Config.RoutesTargeted.
	Routes    []string `json:"routes,omitempty"`
	Unmatched []string `json:"unmatched,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// From and Until, when set, are when the window begins and ends.
	From  *time.Time `json:"from,omitempty"`
	Until *time.Time `json:"until,omitempty"`
}

// Active reports whether the window is in force at now, as
// config.Window.Active decides.
func (w WindowSpec) Active(now time.Time) bool {
	cw := config.Window{From: w.From, Until: w.Until}
	return cw.Active(now)
}

// At returns the window in force at now, if any.
func (m MaintenanceSpec) At(now time.Time) (WindowSpec, bool) {
	for _, w := range m.Windows {
		if w.Active(now) {
			return w, true
		}
	}
	return WindowSpec{}, false
}

// Next returns the first moment after now at which a window begins or
// ends, when the maintenance wanted may change by itself; zero when none
// is to come.
func (m MaintenanceSpec) Next(now time.Time) time.Time {
	var next time.Time
	for _, w := range m.Windows {
		for _, t := range []*time.Time{w.From, w.Until} {
			if t != nil && t.After(now) && (next.IsZero() || t.Before(next)) {
				next = *t
			}
		}
	}
	return next
}

// Upcoming returns the windows in force at now or to come, soonest first.
func (m MaintenanceSpec) Upcoming(now time.Time) []WindowSpec {
	var out []WindowSpec
	for _, w := range m.Windows {
		cw := config.Window{Until: w.Until}
		if !cw.Ended(now) {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b WindowSpec) int {
		switch {
		case a.From == nil || b.From == nil:
			return cmpBool(a.From != nil, b.From != nil)
		}
		return a.From.Compare(*b.From)
	})
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// FromConfig builds the desired state from a config Parse returned, which
// it trusts: Parse is the one validator of a file. What it builds is
// checked once more, field by field, by the client before a byte of it is
// written (PROTOCOL.md §1). selfIP is this host's address, used for the
// default maintenance page.
func FromConfig(cfg *config.Config, selfIP string) Desired {
	d := Desired{
		Service:               cfg.Service.Name,
		Options:               maps.Clone(cfg.Options),
		Headers:               maps.Clone(cfg.Headers),
		AllowMassRemoval:      cfg.AllowMassRemoval,
		RoutesExplicitlyEmpty: cfg.RoutesExplicitlyEmpty,
	}
	for _, r := range cfg.Routes {
		rs := RouteSpec{
			Name:     r.Name,
			Domains:  normDomains(r.Domains),
			Path:     r.Path,
			Backend:  r.Backend,
			Priority: r.Priority,
		}
		if hc := r.HealthCheck; hc != nil {
			rs.Health = &HealthSpec{Path: hc.Path, Interval: hc.Interval.D(), Timeout: hc.Timeout.D()}
		}
		d.Routes = append(d.Routes, rs)
	}
	slices.SortFunc(d.Routes, func(a, b RouteSpec) int { return cmpString(a.Name, b.Name) })

	d.Maintenance = MaintenanceSpec{Page: cfg.MaintenancePage(selfIP)}
	for _, w := range cfg.MaintenanceWindows() {
		routes, unmatched := cfg.RoutesTargeted(w.Targets)
		d.Maintenance.Windows = append(d.Maintenance.Windows, WindowSpec{
			Name:      w.Name,
			Targets:   slices.Clone(w.Targets),
			Routes:    routes,
			Unmatched: unmatched,
			Reason:    w.Reason,
			From:      cloneTime(w.From),
			Until:     cloneTime(w.Until),
		})
	}
	return d
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func normDomains(ds []string) []string {
	out := slices.Clone(ds)
	slices.Sort(out)
	return slices.Compact(out)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameRouting reports whether two specs route the same requests to the same
// backend: anything that differs here needs a re-add (§4).
func sameRouting(a, b RouteSpec) bool {
	return a.Path == b.Path && a.Backend == b.Backend && slices.Equal(a.Domains, b.Domains)
}

func sameHealth(a, b *HealthSpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// overlaps reports whether removing one route deletes the other in the
// proxy: same path and at least one common domain (§4).
func overlaps(a, b RouteSpec) bool {
	if a.Path != b.Path {
		return false
	}
	for _, d := range a.Domains {
		if _, ok := slices.BinarySearch(b.Domains, d); ok {
			return true
		}
	}
	return false
}

// healthJSON is HealthSpec as people read it: durations as "10s".
type healthJSON struct {
	Path     string `json:"path"`
	Interval string `json:"interval"`
	Timeout  string `json:"timeout"`
}

// MarshalJSON writes the durations as Go duration strings.
func (h HealthSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(healthJSON{h.Path, h.Interval.String(), h.Timeout.String()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *HealthSpec) UnmarshalJSON(b []byte) error {
	var v healthJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	iv, err := time.ParseDuration(v.Interval)
	if err != nil {
		return fmt.Errorf("health interval: %w", err)
	}
	to, err := time.ParseDuration(v.Timeout)
	if err != nil {
		return fmt.Errorf("health timeout: %w", err)
	}
	*h = HealthSpec{Path: v.Path, Interval: iv, Timeout: to}
	return nil
}
