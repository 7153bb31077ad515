package config

import "time"

// What only tests ask of a Config or an Update. The reconciler asks
// MaintenanceWindows and RoutesTargeted, and the agent names its own
// events.

// Active reports whether the maintenance block, as a window of its own,
// is in force at now: enabled, not before from, not past until.
func (m *Maintenance) Active(now time.Time) bool {
	w := m.window()
	return m.Enabled && w.Active(now)
}

// MaintenanceRoutes returns the names of the routes that should be in
// maintenance at now, in file order: none when no window is in force,
// else those its targets designate.
func (c *Config) MaintenanceRoutes(now time.Time) []string {
	w, ok := c.MaintenanceAt(now)
	if !ok {
		return nil
	}
	names, _ := c.RoutesTargeted(w.Targets)
	return names
}

// MaintenanceAt returns the window in force at now. Parse refuses
// overlapping windows, so there is at most one; were there more (a Config
// built by hand), the first in MaintenanceWindows' order wins.
func (c *Config) MaintenanceAt(now time.Time) (Window, bool) {
	for _, w := range c.MaintenanceWindows() {
		if w.Active(now) {
			return w, true
		}
	}
	return Window{}, false
}

// TargetRoutes returns the names of the routes that the maintenance block
// covers while it is active, in file order: see RoutesTargeted.
func (c *Config) TargetRoutes() (names, unmatched []string) {
	return c.RoutesTargeted(c.Maintenance.Targets)
}

// The agent's names for a valid and an invalid content of the file.
const (
	EventValidated = "CONFIG_VALIDATED"
	EventInvalid   = "CONFIG_INVALID"
)

// Event returns EventValidated or EventInvalid.
func (u Update) Event() string {
	if u.Err != nil {
		return EventInvalid
	}
	return EventValidated
}
