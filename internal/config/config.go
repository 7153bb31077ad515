package config

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"
)

// MaintenancePage returns the maintenance page URL to send with MAINT_ENTER
// (PROTOCOL.md §5): maintenance.page when set; else, with maintenance.serve,
// the URL of regagent's own page server (listen's host when it names one);
// else http://<selfIP>:<maintenance_port>/ when the service has a
// maintenance port; else "" (the proxy's built-in page). It is a method
// rather than a value fixed by Parse because the host address can change
// while the file does not.
func (c *Config) MaintenancePage(selfIP string) string {
	switch {
	case c.Maintenance.Page != "":
		return c.Maintenance.Page
	case c.Maintenance.Serve.Enabled:
		return c.Maintenance.Serve.url(selfIP, c.Service.MaintenancePort)
	case c.Service.MaintenancePort > 0 && selfIP != "":
		return "http://" + net.JoinHostPort(selfIP, strconv.Itoa(c.Service.MaintenancePort)) + "/"
	}
	return ""
}

// RoutesMatching returns, in file order, the names of the routes that a
// maintenance target designates: a route name, a path, or a domain.
func (c *Config) RoutesMatching(target string) []string {
	var names []string
	for _, r := range c.Routes {
		match := r.Name == target || r.Path == target
		for _, d := range r.Domains {
			match = match || d == target
		}
		if match {
			names = append(names, r.Name)
		}
	}
	return names
}

// RoutesTargeted returns the names of the routes that a window with these
// targets covers, in file order: every route when no targets are listed,
// else the routes the targets designate. unmatched lists, in order, the
// targets that designate no route (Parse refuses them in a window that can
// be in force).
func (c *Config) RoutesTargeted(targets []string) (names, unmatched []string) {
	if len(targets) == 0 {
		names = make([]string, len(c.Routes))
		for i, r := range c.Routes {
			names[i] = r.Name
		}
		return names, nil
	}
	want := make(map[string]bool)
	for _, t := range targets {
		matched := c.RoutesMatching(t)
		if len(matched) == 0 {
			unmatched = append(unmatched, t)
		}
		for _, n := range matched {
			want[n] = true
		}
	}
	for _, r := range c.Routes {
		if want[r.Name] {
			names = append(names, r.Name)
		}
	}
	return names, unmatched
}

// String formats the duration like time.Duration ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string ("30s"), as the schema says.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string ("30s").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cannot decode duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("cannot decode duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string ("30s").
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalText reads a duration string ("30s"); yaml.v3 uses it too.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("cannot decode duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
