package reconcile

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
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
	// guard (rule 11).
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

// MaintenanceSpec is the desired maintenance state.
type MaintenanceSpec struct {
	Enabled bool
	// Targets are route names, paths or domains; none means the whole
	// service.
	Targets []string
	// Page is the maintenance page URL; "" means the proxy's built-in page.
	Page   string
	Reason string
	// Until, when not zero, is the moment maintenance ends by itself.
	Until time.Time
}

// FromConfig builds the desired state from a validated config. selfIP is
// this host's address, used for the default maintenance page.
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
	d.Maintenance = MaintenanceSpec{
		Enabled: m.Enabled,
		Targets: slices.Clone(m.Targets),
		Page:    m.Page,
		Reason:  m.Reason,
	}
	if m.Until != nil {
		d.Maintenance.Until = *m.Until
	}
	if d.Maintenance.Page == "" {
		d.Maintenance.Page = DefaultPage(selfIP, cfg.Service.MaintenancePort)
	}
	return d
}

// DefaultPage is the maintenance page used when the file names none:
// the agent's own page on maintenance_port, or "" (the proxy's built-in
// page) when no port is set (rule 7).
func DefaultPage(selfIP string, port int) string {
	if port <= 0 || selfIP == "" {
		return ""
	}
	return "http://" + net.JoinHostPort(selfIP, strconv.Itoa(port)) + "/"
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
