package registrysim

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProxyRoute is one entry of the proxy's route list (§4).
type ProxyRoute struct {
	ID, Session, Service, Instance string
	Domains                        []string
	Path, Backend                  string
	Priority                       int // stored, ignored by matching (§4)
	Headers, Options               map[string]string
	HealthURL                      string // with the join bug of §4
	Disabled                       bool   // disabled by a dropped session (§7): still served, no headers

	// Snapshot of the route's backend object (§9), filled by ProxyRoutes.
	InMaintenance   bool
	MaintenancePage string // "" = built-in page
	Draining        bool

	obj *backendObj
}

// backendObj is the proxy's backend object (§9): maintenance and drain live
// here, not on the URL string. Routes added while another route with the
// same URL string is in the list share its object; once the last such route
// is gone, the next add of that URL gets a fresh object.
type backendObj struct {
	url        string
	maint      bool
	page       string
	draining   bool
	drainStart time.Time
	drainDur   time.Duration
}

func (r *ProxyRoute) clone() ProxyRoute {
	c := *r
	c.Domains = slices.Clone(r.Domains)
	c.Headers = maps.Clone(r.Headers)
	c.Options = maps.Clone(r.Options)
	if r.obj != nil {
		c.InMaintenance, c.MaintenancePage, c.Draining = r.obj.maint, r.obj.page, r.obj.draining
	}
	c.obj = nil
	return c
}

// TargetKind says where a request goes.
type TargetKind int

const (
	TargetNone        TargetKind = iota // no route: 503
	TargetBackend                       // proxied to Target.Backend
	TargetMaintenance                   // maintenance page (Target.Page, "" = built-in)
	TargetDraining                      // 503 "Service draining" (§9)
)

func (k TargetKind) String() string {
	switch k {
	case TargetBackend:
		return "backend"
	case TargetMaintenance:
		return "maintenance"
	case TargetDraining:
		return "draining"
	}
	return "none"
}

// Target is where the proxy would send a request (see Resolve).
type Target struct {
	Kind    TargetKind
	Backend string // backend URL string of the matched proxy route
	Page    string // maintenance page URL ("" = built-in page) when Kind == TargetMaintenance
	// Headers the proxy adds when the backend serves the request: those of
	// the first enabled longest-prefix route (HeaderRouteID), which may be
	// another route than the matched one (§9); nil if every candidate is
	// disabled (§7).
	Headers       map[string]string
	HeaderRouteID string
	Options       map[string]string // of the matched route
	RouteID       string            // the matched route
	Session       string
}

// Resolve tells where the proxy would send a request for host and path (§4):
// the exact-match map keyed domain+path first, else the longest plain string
// prefix over the route list, the first in list order winning among equal
// lengths. Host must equal a domain exactly (no wildcards, no port
// stripping); priority is ignored; disabled routes take part (§7). The
// matched route's backend object decides maintenance and drain (§9).
func (s *Server) Resolve(host, path string) Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.cur
	if in == nil {
		return Target{}
	}
	r := in.exact[host+path]
	if r == nil {
		r = in.longestPrefix(host, path, false)
	}
	if r == nil {
		return Target{}
	}
	t := Target{Kind: TargetBackend, Backend: r.Backend, Options: maps.Clone(r.Options), RouteID: r.ID, Session: r.Session}
	if h := in.longestPrefix(host, path, true); h != nil {
		t.Headers, t.HeaderRouteID = maps.Clone(h.Headers), h.ID
	}
	switch o := r.obj; {
	case o.maint:
		t.Kind, t.Page = TargetMaintenance, o.page
	case s.drainRejects(o):
		t.Kind = TargetDraining
	}
	return t
}

// longestPrefix is the proxy's list scan (§4): a route is a candidate when
// one of its domains equals host and its path is a string prefix of path; a
// later candidate wins only with a strictly longer path, so on equal length
// the first in the list wins. enabledOnly is the header lookup (§9).
func (in *instance) longestPrefix(host, path string, enabledOnly bool) *ProxyRoute {
	var best *ProxyRoute
	for _, r := range in.proxy {
		if enabledOnly && r.Disabled {
			continue
		}
		if len(r.Path) > 0 && slices.Contains(r.Domains, host) && strings.HasPrefix(path, r.Path) &&
			(best == nil || len(r.Path) > len(best.Path)) {
			best = r
		}
	}
	return best
}

// drainRejects reproduces the proxy's drain check (§9): no rejection in the
// first half of the drain, then a rejection probability equal to the elapsed
// fraction, and every request rejected once the drain time has passed. A
// zero duration (DRAIN_START with a bad duration) rejects nothing.
func (s *Server) drainRejects(o *backendObj) bool {
	if !o.draining || o.drainDur <= 0 {
		return false
	}
	elapsed := s.opts.Now().Sub(o.drainStart)
	if elapsed >= o.drainDur {
		return true
	}
	progress := float64(elapsed) / float64(o.drainDur)
	return progress > 0.5 && progress*100 > float64(s.rand.IntN(100))
}

// ProxyRoutes returns a snapshot of the proxy list in list order: sorted by
// path length, longest first, ties as the unstable sort left them (§4).
func (s *Server) ProxyRoutes() []ProxyRoute {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	out := make([]ProxyRoute, 0, len(s.cur.proxy))
	for _, r := range s.cur.proxy {
		out = append(out, r.clone())
	}
	return out
}

// backendFor is the proxy's getOrCreateBackend (§9): the object of the first
// route in the list with the same URL string, else a fresh one, not in
// maintenance and not draining.
func (in *instance) backendFor(url string) *backendObj {
	for _, r := range in.proxy {
		if r.Backend == url {
			return r.obj
		}
	}
	return &backendObj{url: url}
}

// appendRoute adds r at the end of the list, never replacing an entry,
// re-sorts the list and points the exact-match keys of its domains at it
// (the newer wins the exact path, §4).
func (in *instance) appendRoute(r *ProxyRoute) {
	r.obj = in.backendFor(r.Backend)
	in.proxy = append(in.proxy, r)
	sortByPathLength(in.proxy)
	for _, d := range r.Domains {
		in.exact[d+r.Path] = r
	}
}

// sortByPathLength is the proxy's sort, run after every add (§4): a plain
// exchange sort, longest path first. It is deliberately not slices.SortStable:
// the exchange sort is unstable, and the proxy's tie order depends on it.
// Among equal lengths the older route usually stays first, because the list
// was sorted before the append and the new route starts at the end; but a
// swap that moves a shorter route from the front to a later position can
// carry it past an equal-length newer one, so sometimes the newer comes
// first. Which route wins a sub-path on equal length follows from this
// order, so it has to be the same algorithm, not just the same ordering rule.
// Its O(n²) per add is the ~n³ apply cost of §4.
func sortByPathLength(list []*ProxyRoute) {
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if len(list[j].Path) > len(list[i].Path) {
				list[i], list[j] = list[j], list[i]
			}
		}
	}
}

// matches is the proxy's route matching for removal, maintenance, drain and
// disabling: the same path and at least one domain in common.
func matches(r *ProxyRoute, domains []string, path string) bool {
	return r.Path == path && slices.ContainsFunc(r.Domains, func(d string) bool {
		return slices.Contains(domains, d)
	})
}

// removeMatching is the proxy's removal (§4): every route of any session with
// the same path and an overlapping domain goes, and the exact keys of the
// given domains are deleted. Exact keys of a removed route's other domains
// are left in place, still pointing at it, as the map-plus-list design implies.
func (in *instance) removeMatching(domains []string, path string) {
	for _, d := range domains {
		delete(in.exact, d+path)
	}
	in.proxy = slices.DeleteFunc(in.proxy, func(r *ProxyRoute) bool { return matches(r, domains, path) })
}

// eachMatching calls fn for every route in the list matching domains+path.
func (in *instance) eachMatching(domains []string, path string, fn func(r *ProxyRoute)) {
	for _, r := range in.proxy {
		if matches(r, domains, path) {
			fn(r)
		}
	}
}

// removeSessionRoutes applies the removal rule for every applied route of
// sess, as CLIENT_SHUTDOWN, a replacing REGISTER and grace expiry do (§2, §7).
func (in *instance) removeSessionRoutes(sess *session) {
	for _, id := range sess.activeIDs() {
		d := sess.active[id]
		in.removeMatching(d.domains, d.path)
	}
}

func routeNum(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "r"))
	return n
}
