package registrysim

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// validate is CONFIG_VALIDATE and the first step of CONFIG_APPLY (§3): the
// first bad route of routes is reported as "route rN: reason". It does not
// parse the URL; that failure only shows while applying.
func validate(routes []routeDef) string {
	for _, d := range routes {
		if msg := checkRoute(d.domains, d.path, d.backend); msg != "" {
			return "route " + d.id + ": " + msg
		}
	}
	return ""
}

func (s *Server) cmdValidate(_ *conn, sess *session, _ []string) reply {
	if msg := validate(sess.stage.routes); msg != "" {
		return errorf(msg)
	}
	return line("OK")
}

// applyOrder is the order in which one apply adds the staged routes: the
// real server walks a Go map, so any order (§9); staging order unless
// ShuffleApply is set.
func (s *Server) applyOrder(st *staging) []routeDef {
	routes := slices.Clone(st.routes)
	if s.opts.ShuffleApply {
		s.rand.Shuffle(len(routes), func(i, j int) { routes[i], routes[j] = routes[j], routes[i] })
	}
	return routes
}

// cmdApply pushes the staged state into the proxy as §4 describes:
//  1. every staged route is appended (never replacing an entry) with the
//     headers, options and health check staged for this apply only, and
//     becomes the session's active route of that id at once;
//  2. then each removal looks its id up among the active routes (as they
//     are after step 1) and deletes every proxy route, of any session, with
//     the same path and an overlapping domain, and its domains' exact keys.
//
// Because of 2, ROUTE_REMOVE rX + ROUTE_UPDATE rX in one apply removes the
// updated copy and leaves the old entry routed (§9).
//
// A backend URL that net/url rejects stops the apply midway: the routes
// added before it are live and active (§9), and staging is left as it was,
// so a retry adds them again.
func (s *Server) cmdApply(c *conn, sess *session, _ []string) reply {
	in := c.in
	st := &sess.stage
	order := s.applyOrder(st)
	if msg := validate(order); msg != "" {
		return errorf(msg) // nothing applied
	}
	headers, options := liveValues(st.headers), liveValues(st.options)
	for _, d := range order {
		if _, err := url.Parse(d.backend); err != nil {
			return errorf("failed to add route " + d.id + ": invalid backend URL: " + err.Error())
		}
		r := &ProxyRoute{
			ID: d.id, Session: sess.id, Service: sess.service, Instance: sess.instance,
			Domains: d.domains, Path: d.path, Backend: d.backend, Priority: d.priority,
			Headers: maps.Clone(headers), Options: maps.Clone(options),
		}
		if hp, ok := st.health[d.id]; ok {
			r.HealthURL = healthURL(d.backend, hp)
		}
		in.appendRoute(r)
		sess.active[d.id] = d
	}
	for _, id := range st.removals {
		if d, ok := sess.active[id]; ok {
			in.removeMatching(d.domains, d.path)
			delete(sess.active, id)
		}
	}
	st.reset()
	return line("OK") // also with nothing staged
}

// cmdApplyPartial is CONFIG_APPLY_PARTIAL|sid|scope (§9): for the scope
// "routes" every staged route is added without validation, headers or
// options, and becomes active even when its URL does not parse (that add
// fails silently); "headers", "options" and "health" only drop what is
// staged for them. Removals stay staged. It always answers OK.
func (s *Server) cmdApplyPartial(c *conn, sess *session, f []string) reply {
	st := &sess.stage
	for _, scope := range strings.Split(f[2], ",") {
		switch strings.TrimSpace(scope) {
		case "routes":
			for _, d := range s.applyOrder(st) {
				if _, err := url.Parse(d.backend); err == nil {
					c.in.appendRoute(&ProxyRoute{
						ID: d.id, Session: sess.id, Service: sess.service, Instance: sess.instance,
						Domains: d.domains, Path: d.path, Backend: d.backend, Priority: d.priority,
						Headers: map[string]string{}, Options: map[string]string{},
					})
				}
				sess.active[d.id] = d
			}
			st.routes = nil
		case "headers":
			clear(st.headers)
		case "options":
			clear(st.options)
		case "health":
			clear(st.health)
		}
	}
	return line("OK")
}

func liveValues(m map[string]*string) map[string]string {
	out := make(map[string]string)
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// healthURL reproduces the join bug of §4: "http://h:3000" + "/health" gives
// "http://h:3000health", while "health" or a backend ending in "/" give the
// intended URL.
func healthURL(backend, path string) string {
	if strings.HasSuffix(backend, "/") || strings.HasPrefix(path, "/") {
		return backend + strings.TrimPrefix(path, "/")
	}
	return backend + "/" + path
}

func (s *Server) cmdRollback(_ *conn, sess *session, _ []string) reply {
	sess.stage.reset()
	return line("OK")
}

// cmdDiff reports counts only (§3).
func (s *Server) cmdDiff(_ *conn, sess *session, _ []string) reply {
	st := &sess.stage
	diff := map[string]any{
		"headers": len(st.headers),
		"options": len(st.options),
		"routes":  map[string]int{"added": len(st.routes), "removed": len(st.removals)},
	}
	b, _ := json.Marshal(diff)
	return line("DIFF_OK|" + string(b))
}
