package registrysim

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ProxyRoute is one entry of the proxy's route list (§4).
type ProxyRoute struct {
	ID, Session, Service, Instance string
	Domains                        []string
	Path, Backend                  string
	Priority                       int // stored, ignored by matching (§4)
	Headers, Options               map[string]string
	HealthURL                      string // with the join bug of §4
	Disabled                       bool   // owning session disconnected (§7): still served, no headers
}

func (r *ProxyRoute) clone() ProxyRoute {
	c := *r
	c.Domains = slices.Clone(r.Domains)
	c.Headers = maps.Clone(r.Headers)
	c.Options = maps.Clone(r.Options)
	return c
}

// TargetKind says where a request goes.
type TargetKind int

const (
	TargetNone        TargetKind = iota // no route: 503
	TargetBackend                       // proxied to Target.Backend
	TargetMaintenance                   // maintenance page (Target.Page, "" = built-in)
)

func (k TargetKind) String() string {
	switch k {
	case TargetBackend:
		return "backend"
	case TargetMaintenance:
		return "maintenance"
	}
	return "none"
}

// Target is where the proxy would send a request (see Resolve).
type Target struct {
	Kind    TargetKind
	Backend string            // backend URL string of the matched proxy route
	Page    string            // maintenance page URL ("" = built-in page) when Kind == TargetMaintenance
	Headers map[string]string // headers the proxy would add (only while the owning session is connected, §7)
	Options map[string]string
	RouteID string
	Session string
}

// Resolve tells where the proxy would send a request for host and path (§4):
// the exact-match map keyed domain+path first, else the longest plain string
// prefix among routes whose domains contain host exactly (no wildcards, no
// port stripping). Priority is ignored; among equally long prefixes the
// older entry wins, which is why sub-paths stay on an older route. A route
// whose backend string is in maintenance gives its page (§5).
func (s *Server) Resolve(host, path string) Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.cur
	if in == nil {
		return Target{}
	}
	r := in.exact[host+path]
	if r == nil {
		for _, c := range in.proxy {
			if slices.Contains(c.Domains, host) && strings.HasPrefix(path, c.Path) &&
				(r == nil || len(c.Path) > len(r.Path)) {
				r = c
			}
		}
	}
	if r == nil {
		return Target{}
	}
	t := Target{Kind: TargetBackend, Backend: r.Backend, Options: maps.Clone(r.Options), RouteID: r.ID, Session: r.Session}
	if !r.Disabled {
		t.Headers = maps.Clone(r.Headers)
	}
	if page, ok := in.maint[r.Backend]; ok {
		t.Kind, t.Page = TargetMaintenance, page
	}
	return t
}

// ProxyRoutes returns a snapshot of the proxy list, in list order (the order
// routes were appended).
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

// appendRoute adds r at the end of the list, never replacing an entry; the
// exact-match keys of its domains now point to it (the newer wins, §4).
func (in *instance) appendRoute(r *ProxyRoute) {
	in.proxy = append(in.proxy, r)
	for _, d := range r.Domains {
		in.exact[d+r.Path] = r
	}
}

// removeMatching is the proxy's removal (§4): every route of any session with
// the same path and an overlapping domain goes, and the exact keys of the
// given domains are deleted. Exact keys of a removed route's other domains
// are left in place, still pointing at it, as the map-plus-list design implies.
func (in *instance) removeMatching(domains []string, path string) {
	in.proxy = slices.DeleteFunc(in.proxy, func(r *ProxyRoute) bool {
		return r.Path == path && slices.ContainsFunc(r.Domains, func(d string) bool {
			return slices.Contains(domains, d)
		})
	})
	for _, d := range domains {
		delete(in.exact, d+path)
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
