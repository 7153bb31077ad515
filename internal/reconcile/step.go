package reconcile

import (
	"fmt"
	"strings"
)

// StepKind is what one step of a plan does.
type StepKind uint8

// The kinds of steps. Route, option, header and health steps are staged;
// nothing reaches the proxy until a StepApply (§3).
const (
	StepRouteAdd StepKind = iota + 1
	StepRouteRemove
	StepRouteUpdate
	StepHealthSet
	StepOptionSet
	StepHeaderSet
	StepApply
	StepMaintEnter
	StepMaintExit
)

var stepNames = [...]string{"", "ADD", "REMOVE", "UPDATE", "HEALTH", "OPTION", "HEADER", "APPLY", "MAINT_ENTER", "MAINT_EXIT"}

func (k StepKind) String() string {
	if int(k) < len(stepNames) {
		return stepNames[k]
	}
	return fmt.Sprintf("StepKind(%d)", k)
}

// Step is one command of a plan. Route ids are only known from replies, so
// a step refers to a route added earlier in the same plan by its Key; the
// executor resolves keys to ids as the replies come in.
type Step struct {
	Kind StepKind
	// Key names the route: its config name, "" for a stray, "orphan#N"
	// for a copy added only to purge an orphan (§7), or "release#N" for
	// one added only to take its backend out of maintenance (§5).
	Key string
	// ID is the route id when it is known at planning time.
	ID string
	// Route is the route to add (StepRouteAdd).
	Route RouteSpec
	// Health is the check to set, its path already in wire form (§4).
	Health HealthSpec
	// Name and Value are an option or header (StepOptionSet, StepHeaderSet).
	Name, Value string
	// Priority is the new priority (StepRouteUpdate).
	Priority int
	// All, Targets (route names) and Page describe a maintenance step.
	All     bool
	Targets []string
	Page    string
	// Reason is the file's maintenance.reason, for people (Diff, logs);
	// the protocol has no field for it.
	Reason string
	// Release lists the backends a MAINT_EXIT through release copies takes
	// out of maintenance: no route of ours uses them any more (§5).
	Release []string
}

// String is a compact form used by tests and debug output.
func (s Step) String() string {
	switch s.Kind {
	case StepRouteAdd:
		return fmt.Sprintf("ADD %s %s %s %s %d", s.Key, strings.Join(s.Route.Domains, ","), s.Route.Path, s.Route.Backend, s.Route.Priority)
	case StepRouteRemove:
		return strings.TrimSpace(fmt.Sprintf("REMOVE %s %s", s.Key, s.ID))
	case StepRouteUpdate:
		return fmt.Sprintf("UPDATE %s %s priority %d", s.Key, s.ID, s.Priority)
	case StepHealthSet:
		return fmt.Sprintf("HEALTH %s %s %s %s", s.Key, s.Health.Path, s.Health.Interval, s.Health.Timeout)
	case StepOptionSet, StepHeaderSet:
		return fmt.Sprintf("%s %s %s", s.Kind, s.Name, s.Value)
	case StepMaintEnter, StepMaintExit:
		t := "ALL"
		if !s.All {
			t = strings.Join(s.Targets, ",")
		}
		if s.Kind == StepMaintEnter {
			return fmt.Sprintf("%s %s %s", s.Kind, t, s.Page)
		}
		return fmt.Sprintf("%s %s", s.Kind, t)
	}
	return s.Kind.String()
}

// wireHealthPath is the path to send with HEALTH_SET: the proxy joins the
// backend URL and the path so that "/health" gives "http://h:3000health";
// without the leading slash the URL comes out right (§4).
func wireHealthPath(p string) string {
	return strings.TrimPrefix(p, "/")
}

// healthStep builds the HEALTH_SET step of a route added under key.
func healthStep(key string, h *HealthSpec) Step {
	return Step{Kind: StepHealthSet, Key: key, Health: HealthSpec{
		Path: wireHealthPath(h.Path), Interval: h.Interval, Timeout: h.Timeout,
	}}
}
