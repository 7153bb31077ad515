package config

import (
	"time"
)

// Config is one service's declaration: how the proxy should route to it.
// Values are already interpolated, defaulted and validated when a Config
// leaves Parse.
type Config struct {
	Proxy       Proxy             `yaml:"proxy" json:"proxy"`
	Service     Service           `yaml:"service" json:"service"`
	Routes      []Route           `yaml:"routes" json:"routes"`
	Options     map[string]string `yaml:"options,omitempty" json:"options,omitempty"`
	Headers     map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Maintenance Maintenance       `yaml:"maintenance,omitempty" json:"maintenance,omitempty"`
	Shutdown    Shutdown          `yaml:"shutdown,omitempty" json:"shutdown,omitempty"`
	Status      Status            `yaml:"status,omitempty" json:"status,omitempty"`
	Reload      Reload            `yaml:"reload,omitempty" json:"reload,omitempty"`
	Reconcile   Reconcile         `yaml:"reconcile,omitempty" json:"reconcile,omitempty"`

	// AllowMassRemoval lets one change remove more than the reconciler's
	// mass-removal threshold of the live routes.
	AllowMassRemoval bool `yaml:"allow_mass_removal,omitempty" json:"allow_mass_removal,omitempty"`

	// RoutesExplicitlyEmpty is true when the file says `routes: []`: an
	// intended removal of every route, as opposed to a truncated file.
	RoutesExplicitlyEmpty bool `yaml:"-" json:"-"`

	// Hash is the SHA-256 (hex) of the raw file content the Config came from.
	Hash string `yaml:"-" json:"-"`
}

// Proxy says where the registry is and how to talk to it.
type Proxy struct {
	Address            string   `yaml:"address" json:"address"`
	DialTimeout        Duration `yaml:"dial_timeout,omitempty" json:"dial_timeout,omitempty"`
	KeepaliveInterval  Duration `yaml:"keepalive_interval,omitempty" json:"keepalive_interval,omitempty"`
	KeepaliveTimeout   Duration `yaml:"keepalive_timeout,omitempty" json:"keepalive_timeout,omitempty"`
	MaintenanceTimeout Duration `yaml:"maintenance_timeout,omitempty" json:"maintenance_timeout,omitempty"`
	Backoff            Backoff  `yaml:"backoff,omitempty" json:"backoff,omitempty"`
}

// Backoff is the reconnection schedule: Initial, then ×Multiplier up to Max,
// with jitter.
type Backoff struct {
	Initial    Duration `yaml:"initial,omitempty" json:"initial,omitempty"`
	Max        Duration `yaml:"max,omitempty" json:"max,omitempty"`
	Multiplier float64  `yaml:"multiplier,omitempty" json:"multiplier,omitempty"`
}

// Service identifies the registering service instance.
type Service struct {
	Name            string            `yaml:"name" json:"name"`
	Instance        string            `yaml:"instance,omitempty" json:"instance,omitempty"`
	MaintenancePort int               `yaml:"maintenance_port,omitempty" json:"maintenance_port,omitempty"`
	IPCIDR          string            `yaml:"ip_cidr,omitempty" json:"ip_cidr,omitempty"`
	Metadata        map[string]string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
}

// Route is one routing rule, keyed by its stable Name.
type Route struct {
	Name        string       `yaml:"name" json:"name"`
	Domains     []string     `yaml:"domains" json:"domains"`
	Path        string       `yaml:"path" json:"path"`
	Backend     string       `yaml:"backend" json:"backend"`
	Priority    int          `yaml:"priority,omitempty" json:"priority,omitempty"`
	HealthCheck *HealthCheck `yaml:"health_check,omitempty" json:"health_check,omitempty"`
}

// HealthCheck is the proxy's active check of a route's backend.
type HealthCheck struct {
	Path     string   `yaml:"path" json:"path"`
	Interval Duration `yaml:"interval" json:"interval"`
	Timeout  Duration `yaml:"timeout" json:"timeout"`
}

// Maintenance is the desired maintenance state, edited by people.
type Maintenance struct {
	Enabled bool       `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Targets []string   `yaml:"targets,omitempty" json:"targets,omitempty"`
	Page    string     `yaml:"page,omitempty" json:"page,omitempty"`
	Reason  string     `yaml:"reason,omitempty" json:"reason,omitempty"`
	Until   *time.Time `yaml:"until,omitempty" json:"until,omitempty"`
}

// Shutdown says what the agent does to its routes when it stops.
type Shutdown struct {
	Mode         ShutdownMode `yaml:"mode,omitempty" json:"mode,omitempty"`
	DrainTimeout Duration     `yaml:"drain_timeout,omitempty" json:"drain_timeout,omitempty"`
}

// ShutdownMode is one of deregister, drain or keep.
type ShutdownMode string

const (
	ShutdownDeregister ShutdownMode = "deregister"
	ShutdownDrain      ShutdownMode = "drain"
	ShutdownKeep       ShutdownMode = "keep"
)

// Status configures the agent's local status and metrics endpoint.
type Status struct {
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
}

// Reload configures how file changes are picked up.
type Reload struct {
	Debounce     Duration `yaml:"debounce,omitempty" json:"debounce,omitempty"`
	PollInterval Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
}

// Reconcile tunes the reconciler.
type Reconcile struct {
	// DriftInterval is how often the proxy's route list is compared with
	// what the agent applied; 0 disables the check.
	DriftInterval Duration `yaml:"drift_interval,omitempty" json:"drift_interval,omitempty"`
	// MassRemovalThreshold is the fraction of live routes (0..1) above which
	// a removal needs allow_mass_removal or an explicit `routes: []`.
	MassRemovalThreshold float64 `yaml:"mass_removal_threshold,omitempty" json:"mass_removal_threshold,omitempty"`
}

// Duration is a time.Duration written in the file as a Go duration string
// ("250ms", "30s", "1m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
