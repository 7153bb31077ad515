package reconcile

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Applied is what this agent has made live in the current session, learned
// only from the server's replies.
type Applied struct {
	// Generation is the client's session generation this state belongs
	// to; a new REGISTER starts an empty session (§2, §7).
	Generation uint64 `json:"generation"`
	// Routes are this agent's routes by name.
	Routes map[string]AppliedRoute `json:"routes"`
	// Strays are routes of this session that belong to no name (found by
	// ROUTE_LIST after a partial failure or drift), by id. They are removed.
	Strays map[string]AppliedRoute `json:"strays,omitempty"`
	// Orphans are the routes the previous session had live: after a
	// reconnect inside the grace period the proxy keeps serving them (§7).
	Orphans []AppliedRoute `json:"orphans,omitempty"`
	// Maintenance is the maintenance this agent has entered.
	Maintenance AppliedMaintenance `json:"maintenance"`
	// MaxID is the highest route id number the proxy gave in this session.
	MaxID int `json:"max_id,omitempty"`
	// PrevMaxID is the highest route id number of the previous session.
	// Route ids restart at r1 when the proxy restarts (§8), so a first id
	// of this session not above it proves that the proxy lost every
	// orphan and every maintenance state of earlier sessions.
	PrevMaxID int `json:"prev_max_id,omitempty"`
}

// AppliedRoute is one live route and exactly what was sent for it.
type AppliedRoute struct {
	ID   string    `json:"id"`
	Spec RouteSpec `json:"spec"`
	// Options and Headers were staged in the apply that added the route:
	// the only ones it has (§4).
	Options map[string]string `json:"options,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Unverified is set when the route was read back from ROUTE_LIST, which
	// does not show headers, options or health checks: it is re-added.
	Unverified bool `json:"unverified,omitempty"`
	// Refused marks an orphan staged by an apply the server refused: it
	// may be live (a partial apply, §3) but was never in force, so the
	// mass-removal guard does not count it.
	Refused bool `json:"refused,omitempty"`
	// Maintenance is set while this session has the route's id entered
	// in maintenance (MAINT_ENTER of the id, or of ALL): MAINT_STATUS must
	// list it (§5).
	Maintenance bool `json:"maintenance,omitempty"`
}

// AppliedMaintenance is the maintenance entered by this agent. The proxy
// keeps it per backend URL string (§5), so that is how it is tracked.
type AppliedMaintenance struct {
	// All is set after MAINT_ENTER ALL.
	All bool `json:"all,omitempty"`
	// Backends maps each backend URL in maintenance to its page URL.
	Backends map[string]string `json:"backends,omitempty"`
	// Stale are backends put in maintenance in an earlier session: they
	// may still be in maintenance in the proxy (§5, §7), so they are left
	// explicitly when no longer wanted.
	Stale map[string]string `json:"stale,omitempty"`
}

// NewApplied returns the empty state of a session.
func NewApplied(gen uint64) Applied {
	return Applied{
		Generation: gen,
		Routes:     map[string]AppliedRoute{},
		Strays:     map[string]AppliedRoute{},
		Maintenance: AppliedMaintenance{
			Backends: map[string]string{},
			Stale:    map[string]string{},
		},
	}
}

// Reset returns the state of a new session gen that follows a: empty, with
// a's live routes kept as possible orphans (§7) and its maintenance kept as
// possibly stale (§5), until the session's first route id tells whether
// the proxy restarted (see PrevMaxID).
func (a Applied) Reset(gen uint64) Applied {
	n := NewApplied(gen)
	n.PrevMaxID = a.MaxID
	if n.PrevMaxID == 0 {
		n.PrevMaxID = a.PrevMaxID
	}
	n.Orphans = slices.Clone(a.Orphans)
	for _, name := range sortedKeys(a.Routes) {
		n.Orphans = append(n.Orphans, a.Routes[name])
	}
	for _, id := range sortedKeys(a.Strays) {
		n.Orphans = append(n.Orphans, a.Strays[id])
	}
	maps.Copy(n.Maintenance.Stale, a.Maintenance.Stale)
	maps.Copy(n.Maintenance.Stale, a.Maintenance.Backends)
	return n
}

// noteID records a route id the proxy gave in this session. The first one
// settles whether anything of an earlier session can be left: not when it
// is r1 (the proxy never made a route before) nor when it is not above the
// previous session's ids (the proxy restarted since, §8). Then there is
// nothing to purge and no maintenance to release.
func (a *Applied) noteID(id string) {
	n := routeNum(id)
	if n <= 0 {
		return
	}
	if a.MaxID == 0 && (n == 1 || n <= a.PrevMaxID) {
		a.Orphans = nil
		clear(a.Maintenance.Stale)
	}
	a.MaxID = max(a.MaxID, n)
}

// routeNum is the number of a route id "rN"; 0 when it is not one.
func routeNum(id string) int {
	num, ok := strings.CutPrefix(id, "r")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Clone returns a deep enough copy for the executor to update.
func (a Applied) Clone() Applied {
	c := a
	c.Routes = maps.Clone(a.Routes)
	c.Strays = maps.Clone(a.Strays)
	c.Orphans = slices.Clone(a.Orphans)
	c.Maintenance.Backends = maps.Clone(a.Maintenance.Backends)
	c.Maintenance.Stale = maps.Clone(a.Maintenance.Stale)
	if c.Routes == nil {
		c.Routes = map[string]AppliedRoute{}
	}
	if c.Strays == nil {
		c.Strays = map[string]AppliedRoute{}
	}
	if c.Maintenance.Backends == nil {
		c.Maintenance.Backends = map[string]string{}
	}
	if c.Maintenance.Stale == nil {
		c.Maintenance.Stale = map[string]string{}
	}
	return c
}

// Listed is one entry of ROUTE_LIST.
type Listed struct {
	ID       string
	Domains  []string
	Path     string
	Backend  string
	Priority int
	Status   string // "active" or "staged"
}

// Observe returns a corrected by the server's ROUTE_LIST (planner rules 8
// and 10, docs/planner.md): a route it no longer lists is dropped (the
// planner re-adds it), a route whose domains, path or backend read
// differently is marked Unverified (the planner re-adds it), an unknown
// route becomes a stray (the planner removes it). Quirks handled (§3): ids
// may be listed twice (an updated active route also shows a staged copy);
// staged-only entries are not live. The list says nothing about headers,
// options or health checks.
func (a Applied) Observe(list []Listed) Applied {
	byID := map[string][]Listed{}
	var order []string
	for _, l := range list {
		if _, ok := byID[l.ID]; !ok {
			order = append(order, l.ID)
		}
		byID[l.ID] = append(byID[l.ID], l)
	}
	n := a.Clone()
	seen := map[string]bool{}
	for _, name := range sortedKeys(a.Routes) {
		r := a.Routes[name]
		copies := byID[r.ID]
		if !hasActive(copies) {
			delete(n.Routes, name)
			continue
		}
		seen[r.ID] = true
		l, ok := matching(copies, r.Spec)
		if !ok {
			r.Unverified = true
			l = copies[0]
		}
		if !ok || l.Priority != r.Spec.Priority {
			r.Spec.Priority = l.Priority
		}
		n.Routes[name] = r
	}
	n.Strays = map[string]AppliedRoute{}
	for _, id := range order {
		copies := byID[id]
		if seen[id] || !hasActive(copies) {
			continue
		}
		l := copies[0]
		n.Strays[id] = AppliedRoute{ID: id, Unverified: true, Spec: RouteSpec{
			Domains: normDomains(l.Domains), Path: l.Path, Backend: l.Backend, Priority: l.Priority,
		}}
	}
	return n
}

func hasActive(ls []Listed) bool {
	for _, l := range ls {
		if l.Status != "staged" {
			return true
		}
	}
	return false
}

// matching returns the listed copy that routes like spec, preferring one
// with the same priority.
func matching(ls []Listed, spec RouteSpec) (Listed, bool) {
	var found *Listed
	for i, l := range ls {
		s := RouteSpec{Domains: normDomains(l.Domains), Path: l.Path, Backend: l.Backend}
		if !sameRouting(s, spec) {
			continue
		}
		if l.Priority == spec.Priority {
			return l, true
		}
		if found == nil {
			found = &ls[i]
		}
	}
	if found != nil {
		return *found, true
	}
	return Listed{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
