package reconcile

import "time"

// Report is something a pass did that its owner may log or count: one of
// RouteAdded, RouteRemoved, HealthCheckSet, ConfigApplied and Failed.
// Options.OnReport receives them on the Run goroutine, never under a lock.
type Report interface{ report() }

// RouteAdded reports the route Name live as ID after an apply.
type RouteAdded struct{ Name, ID string }

// RouteRemoved reports the route Name (a route of the file, a purge copy or
// a stray) gone from the proxy after an apply; ID was its id.
type RouteRemoved struct{ Name, ID string }

// HealthCheckSet reports the health check of route Name (ID) live after an
// apply.
type HealthCheckSet struct{ Name, ID string }

// ConfigApplied reports a pass that changed the proxy: what its plan
// changed, the commands and writes it sent, and how long they took.
type ConfigApplied struct {
	Changes  Counts // Changes.Commands is the plan's estimate; Commands is what was sent
	Commands int
	Writes   int
	Duration time.Duration
}

// Failed reports a pass that ended with Err (see Reconcile).
type Failed struct{ Err error }

func (RouteAdded) report()     {}
func (RouteRemoved) report()   {}
func (HealthCheckSet) report() {}
func (ConfigApplied) report()  {}
func (Failed) report()         {}
