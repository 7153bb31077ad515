package reconcile

import (
	"context"
	"fmt"
	"strings"
)

// pageUnknown is the page recorded for a backend found in maintenance
// through a route id this agent did not enter: the page it serves is not
// known, and no wanted page equals this one, so the next plan enters the
// wanted page or leaves maintenance, whichever the file says.
const pageUnknown = "(unknown)"

// ObserveMaintenance returns a corrected by what MAINT_STATUS lists for the
// session (planner rule 10, docs/planner.md), and how many routes it found
// out of maintenance against what was entered (lost) and in it without
// having been entered (gained). A lost route's backend is no longer
// counted in maintenance, so the plan enters it again; a gained route's
// backend is counted in maintenance with an unknown page, so the plan
// enters the wanted page or leaves it. Only the routes applied under a
// name are compared: the list keeps the ids of routes removed since (§9),
// and of the temporary routes of a release or a keeper (§5), which are
// nobody's drift.
func (a Applied) ObserveMaintenance(listed []string) (n Applied, lost, gained int) {
	in := make(map[string]bool, len(listed))
	for _, id := range listed {
		in[strings.TrimSpace(id)] = true
	}
	n = a.Clone()
	var gainedBackends []string
	for _, name := range sortedKeys(a.Routes) {
		r := a.Routes[name]
		switch {
		case r.Maintenance && !in[r.ID]:
			lost++
			r.Maintenance = false
			delete(n.Maintenance.Backends, r.Spec.Backend)
			n.Maintenance.All = false
		case !r.Maintenance && in[r.ID]:
			gained++
			r.Maintenance = true
			gainedBackends = append(gainedBackends, r.Spec.Backend)
		default:
			continue
		}
		n.Routes[name] = r
	}
	// After the losses: a backend both lost and gained is in maintenance,
	// with a page nobody knows.
	for _, b := range gainedBackends {
		n.Maintenance.Backends[b] = pageUnknown
	}
	return n, lost, gained
}

// rereadMaintenance replaces what Applied believes of maintenance by what
// MAINT_STATUS shows, and returns what differed (see ObserveMaintenance).
func (p *pass) rereadMaintenance(ctx context.Context) (lost, gained int, err error) {
	ids, err := p.conn.MaintenanceStatus(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read maintenance: %w", err)
	}
	if err := p.sameSession(); err != nil {
		return 0, 0, err
	}
	p.applied, lost, gained = p.applied.ObserveMaintenance(ids)
	return lost, gained, nil
}
