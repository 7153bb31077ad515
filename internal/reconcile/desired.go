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
// it: which routes a target designates, the default page and when
// maintenance is over are config's rules, applied here once.
type MaintenanceSpec struct {
	Enabled bool
	// Targets are route names, paths or domains; none means the whole
	// service.
	Targets []string
	// Routes are the names of the routes the targets designate (every
	// route when there are none); Unmatched the targets that designate
	// none. See config.Config.TargetRoutes.
	Routes    []string
	Unmatched []string
	// Page is the maintenance page URL; "" means the proxy's built-in page.
	Page   string
	Reason string
	// Until, when set, is the moment maintenance ends by itself.
	Until *time.Time
}

// Active reports whether maintenance is wanted at now: enabled and not past
// Until, as config.Maintenance.Active decides.
func (m MaintenanceSpec) Active(now time.Time) bool {
	cm := config.Maintenance{Enabled: m.Enabled, Until: m.Until}
	return cm.Active(now)
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

	m := cfg.Maintenance
	routes, unmatched := cfg.TargetRoutes()
	d.Maintenance = MaintenanceSpec{
		Enabled:   m.Enabled,
		Targets:   slices.Clone(m.Targets),
		Routes:    routes,
		Unmatched: unmatched,
		Page:      cfg.MaintenancePage(selfIP),
		Reason:    m.Reason,
	}
	if m.Until != nil {
		until := *m.Until
		d.Maintenance.Until = &until
	}
	return d
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
