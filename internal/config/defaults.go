package config

import "time"

// Defaults, applied by Parse before decoding so that any value written in the
// file, including an explicit 0 (poll_interval: 0 turns polling off), wins.
const (
	DefaultDialTimeout          = 5 * time.Second
	DefaultKeepaliveInterval    = 15 * time.Second
	DefaultKeepaliveTimeout     = 5 * time.Second
	DefaultMaintenanceTimeout   = 30 * time.Second
	DefaultBackoffInitial       = 250 * time.Millisecond
	DefaultBackoffMax           = 30 * time.Second
	DefaultBackoffMultiplier    = 2.0
	DefaultShutdownMode         = ShutdownDeregister
	DefaultDrainTimeout         = 30 * time.Second
	DefaultDebounce             = 100 * time.Millisecond
	DefaultPollInterval         = 30 * time.Second
	DefaultDriftInterval        = 60 * time.Second
	DefaultMassRemovalThreshold = 0.5
)

// defaultConfig returns a Config holding every default. service.instance
// defaults to the host name the caller passes (Parse reads no environment).
// Route priority defaults to 0 and maintenance.page to "" (see
// MaintenancePage), which are zero values.
func defaultConfig(hostname string) *Config {
	return &Config{
		Proxy: Proxy{
			DialTimeout:        Duration(DefaultDialTimeout),
			KeepaliveInterval:  Duration(DefaultKeepaliveInterval),
			KeepaliveTimeout:   Duration(DefaultKeepaliveTimeout),
			MaintenanceTimeout: Duration(DefaultMaintenanceTimeout),
			Backoff: Backoff{
				Initial:    Duration(DefaultBackoffInitial),
				Max:        Duration(DefaultBackoffMax),
				Multiplier: DefaultBackoffMultiplier,
			},
		},
		Service:  Service{Instance: hostname},
		Shutdown: Shutdown{Mode: DefaultShutdownMode, DrainTimeout: Duration(DefaultDrainTimeout)},
		Reload:   Reload{Debounce: Duration(DefaultDebounce), PollInterval: Duration(DefaultPollInterval)},
		Reconcile: Reconcile{
			DriftInterval:        Duration(DefaultDriftInterval),
			MassRemovalThreshold: DefaultMassRemovalThreshold,
		},
	}
}
