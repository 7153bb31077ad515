package config

import (
	"time"
)

// Config is one service's declaration: how the proxy should route to it.
// Values are already interpolated, defaulted and validated when a Config
// leaves Parse. The `validate` tags name the rules of each value: those of
// go-playground/validator, and the rules written in Go of rules.go (see
// validate.go); semantics.go checks the rules that span fields or entries.
type Config struct {
	Proxy       Proxy             `yaml:"proxy" json:"proxy"`
	Service     Service           `yaml:"service" json:"service"`
	Routes      []Route           `yaml:"routes" json:"routes" validate:"dive"`
	Options     map[string]string `yaml:"options,omitempty" json:"options,omitempty"`
	Headers     map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Maintenance Maintenance       `yaml:"maintenance,omitempty" json:"maintenance,omitempty"`
	Shutdown    Shutdown          `yaml:"shutdown,omitempty" json:"shutdown,omitempty"`
	Status      Status            `yaml:"status,omitempty" json:"status,omitempty"`
	Reload      Reload            `yaml:"reload,omitempty" json:"reload,omitempty"`
	Reconcile   Reconcile         `yaml:"reconcile,omitempty" json:"reconcile,omitempty"`
	State       State             `yaml:"state,omitempty" json:"state,omitempty"`

	// AllowMassRemoval lets one change remove more than the reconciler's
	// mass-removal threshold of the live routes.
	AllowMassRemoval bool `yaml:"allow_mass_removal,omitempty" json:"allow_mass_removal,omitempty"`

	// RoutesExplicitlyEmpty is true when the file says `routes: []`: an
	// intended removal of every route, as opposed to a truncated file.
	RoutesExplicitlyEmpty bool `yaml:"-" json:"-"`

	// Hash is the SHA-256 (hex) of the raw file content the Config came from,
	// before interpolation: the same file re-rendered with another SELF_IP
	// has the same Hash, so compare Configs, not hashes, to plan changes.
	Hash string `yaml:"-" json:"-"`

	// Secrets are the values that ${VAR} interpolation put into the file
	// (SELF_IP and defaults written in the file excepted): whatever shows
	// the config to people masks them.
	Secrets []string `yaml:"-" json:"-"`

	// Warnings are what Parse found worth saying about a valid file
	// (Error.Warning is set on each): a maintenance window in the past,
	// one that is not enabled. They never make the file invalid.
	Warnings Errors `yaml:"-" json:"-"`
}

// Proxy says where the registry is and how to talk to it.
type Proxy struct {
	Address     string   `yaml:"address" json:"address" validate:"required,wire,hostport"`
	DialTimeout Duration `yaml:"dial_timeout,omitempty" json:"dial_timeout,omitempty" validate:"gt=0"`
	// KeepaliveInterval is at least 100ms: each PING is a round trip the
	// registry answers (at 1ns it was tens of thousands a second); 100ms,
	// ten a second, is the fastest half-open detection worth its load.
	KeepaliveInterval Duration `yaml:"keepalive_interval,omitempty" json:"keepalive_interval,omitempty" validate:"gt=0,durmin=100ms"`
	// KeepaliveTimeout is at least 100ms: below a round trip across a
	// data centre a healthy connection would be given up.
	KeepaliveTimeout   Duration `yaml:"keepalive_timeout,omitempty" json:"keepalive_timeout,omitempty" validate:"gt=0,durmin=100ms"`
	MaintenanceTimeout Duration `yaml:"maintenance_timeout,omitempty" json:"maintenance_timeout,omitempty" validate:"gt=0"`
	Backoff            Backoff  `yaml:"backoff,omitempty" json:"backoff,omitempty"`
}

// Backoff is the reconnection schedule: Initial, then ×Multiplier up to Max,
// with jitter.
type Backoff struct {
	// Initial is at least 10ms and Max at least 50ms: with the registry
	// down a shorter schedule is a busy loop of dials and log lines (at
	// 1ns, all CPU); at these floors an agent dials at most 20 times a
	// second once the schedule has grown.
	Initial    Duration `yaml:"initial,omitempty" json:"initial,omitempty" validate:"gt=0,durmin=10ms"`
	Max        Duration `yaml:"max,omitempty" json:"max,omitempty" validate:"gt=0,durmin=50ms"`
	Multiplier float64  `yaml:"multiplier,omitempty" json:"multiplier,omitempty" validate:"gte=1,lte=10"`
}

// Service identifies the registering service instance. Instance defaults
// to ParseOptions.Hostname; IPCIDR restricts the detection of ${SELF_IP}.
type Service struct {
	Name            string            `yaml:"name" json:"name" validate:"required,wire,servicename"`
	Instance        string            `yaml:"instance,omitempty" json:"instance,omitempty" validate:"required,wire,servicename"`
	MaintenancePort int               `yaml:"maintenance_port,omitempty" json:"maintenance_port,omitempty" validate:"omitempty,min=1,max=65535"`
	IPCIDR          string            `yaml:"ip_cidr,omitempty" json:"ip_cidr,omitempty" validate:"omitempty,cidr"`
	Metadata        map[string]string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
}

// Route is one routing rule, keyed by its stable Name.
//
// Domains are exact host names: the proxy has no wildcards. Path is a plain
// prefix ("/api" also matches "/apix"; the longest prefix wins). Priority is
// sent to the proxy, which currently ignores it (PROTOCOL.md §4).
type Route struct {
	Name        string       `yaml:"name" json:"name" validate:"required,wire,routename"`
	Domains     []string     `yaml:"domains" json:"domains" validate:"required,min=1,max=100,dive,required,wire,domain"`
	Path        string       `yaml:"path" json:"path" validate:"required,wire,urlpath"`
	Backend     string       `yaml:"backend" json:"backend" validate:"required,wire,backend"`
	Priority    int          `yaml:"priority,omitempty" json:"priority,omitempty"`
	HealthCheck *HealthCheck `yaml:"health_check,omitempty" json:"health_check,omitempty"`
}

// HealthCheck is the proxy's active check of a route's backend.
type HealthCheck struct {
	Path     string   `yaml:"path" json:"path" validate:"required,wire,urlpath"`
	Interval Duration `yaml:"interval" json:"interval" validate:"required,gt=0"`
	Timeout  Duration `yaml:"timeout" json:"timeout" validate:"required,gt=0"`
}

// Maintenance is the desired maintenance state, edited by people. The
// block itself is one window: Enabled switches it on; Targets (route names,
// paths or domains, each matching at least one route) restrict it to some
// routes, all of them when empty; From and Until, when set, bound it in
// time. Windows adds windows scheduled ahead of time, each in force between
// its From and Until. Windows must not overlap, so that at most one is in
// force at any moment. Page, shared by every
// window, defaults as Config.MaintenancePage says. Serve has regagent serve
// the page itself.
type Maintenance struct {
	Enabled bool       `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Targets []string   `yaml:"targets,omitempty" json:"targets,omitempty" validate:"dive,required,maxbytes=1024"`
	Page    string     `yaml:"page,omitempty" json:"page,omitempty" validate:"omitempty,wire,page"`
	Reason  string     `yaml:"reason,omitempty" json:"reason,omitempty" validate:"maxbytes=1024"`
	From    *time.Time `yaml:"from,omitempty" json:"from,omitempty"`
	Until   *time.Time `yaml:"until,omitempty" json:"until,omitempty"`
	// Windows is bounded: every pass looks at each of them.
	Windows []Window `yaml:"windows,omitempty" json:"windows,omitempty" validate:"max=100,dive"`

	Serve PageServer `yaml:"serve,omitempty" json:"serve,omitzero"`
}

// Window is one scheduled maintenance window: its targets, as those of
// Maintenance, are in maintenance from From until Until. Name, optional,
// tells it apart in the status and the plan.
type Window struct {
	Name    string     `yaml:"name,omitempty" json:"name,omitempty" validate:"omitempty,routename"`
	Targets []string   `yaml:"targets,omitempty" json:"targets,omitempty" validate:"dive,required,maxbytes=1024"`
	Reason  string     `yaml:"reason,omitempty" json:"reason,omitempty" validate:"maxbytes=1024"`
	From    *time.Time `yaml:"from" json:"from" validate:"required"`
	Until   *time.Time `yaml:"until" json:"until" validate:"required"`
}

// PageServer is maintenance.serve: regagent serves the maintenance page
// itself, so that it is there while the application is down, and
// registers its own URL as the page (see Config.MaintenancePage and
// pageserver.go). The file writes `serve: true`, or a mapping, which turns
// it on unless it says `enabled: false`.
type PageServer struct {
	Enabled bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Listen is the address to bind, host:port or :port; default
	// ":<service.maintenance_port>", every interface, which the proxy
	// reaches at ${SELF_IP}.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty" validate:"omitempty,wire,listenaddr"`
	// Title and Message are shown on the built-in page.
	Title   string `yaml:"title,omitempty" json:"title,omitempty" validate:"maxbytes=256"`
	Message string `yaml:"message,omitempty" json:"message,omitempty" validate:"maxbytes=4096"`
	// File is an HTML file or Go html/template served instead of the
	// built-in page; a relative path is taken from the config file's
	// directory.
	File string `yaml:"file,omitempty" json:"file,omitempty" validate:"maxbytes=4096"`
}

// Shutdown says what the agent does to its routes when it stops.
type Shutdown struct {
	Mode         ShutdownMode `yaml:"mode,omitempty" json:"mode,omitempty" validate:"oneof=deregister drain keep"`
	DrainTimeout Duration     `yaml:"drain_timeout,omitempty" json:"drain_timeout,omitempty" validate:"gt=0"`
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
	Address string `yaml:"address,omitempty" json:"address,omitempty" validate:"omitempty,wire,listenaddr"`
}

// Reload configures how file changes are picked up.
type Reload struct {
	// Debounce is at least 1ms: below that the timer fires before an
	// in-place save has written anything, and every Write event costs a
	// parse.
	Debounce     Duration `yaml:"debounce,omitempty" json:"debounce,omitempty" validate:"gt=0,durmin=1ms,durmax=1m"`
	PollInterval Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty" validate:"offormin=1s"`
}

// Reconcile tunes the reconciler.
type Reconcile struct {
	// DriftInterval is how often the proxy's route list is compared with
	// what the agent applied; 0 disables the check.
	DriftInterval Duration `yaml:"drift_interval,omitempty" json:"drift_interval,omitempty" validate:"offormin=1s"`
	// MassRemovalThreshold is the fraction of live routes (0..1) above which
	// a removal needs allow_mass_removal or an explicit `routes: []`.
	MassRemovalThreshold float64 `yaml:"mass_removal_threshold,omitempty" json:"mass_removal_threshold,omitempty" validate:"gt=0,lte=1"`
}

// State configures the state file: what this agent made live, kept across
// restarts of the process so that a new process can clean up after an old
// one (PROTOCOL.md §7).
type State struct {
	// File is the state file's path; empty means the default directory
	// ($STATE_DIRECTORY, else /var/lib/regagent) and "off" disables it.
	File string `yaml:"file,omitempty" json:"file,omitempty" validate:"maxbytes=4096"`
}

// Duration is a time.Duration written in the file as a Go duration string
// ("250ms", "30s", "1m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
