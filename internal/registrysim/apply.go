package registrysim

import (
	"encoding/json"
	"maps"
	"net/url"
	"strings"
)

// validate is CONFIG_VALIDATE and the first step of CONFIG_APPLY (§3): the
// first bad staged route is reported as "route rN: reason". It does not
// parse the URL; that failure only shows while applying.
func validate(st *staging) string {
	for _, d := range st.routes {
		if msg := checkRoute(d.path, d.backend); msg != "" {
			return "route " + d.id + ": " + msg
		}
	}
	return ""
}

func (s *Server) cmdValidate(_ *conn, sess *session, _ []string) reply {
	if msg := validate(&sess.stage); msg != "" {
		return errorf(msg)
	}
	return line("OK")
}

// cmdApply pushes the staged state into the proxy as §4 describes:
//  1. every staged route is appended (never replacing an entry) with the
//     headers, options and health check staged for this apply only;
//  2. then each removal deletes every proxy route, of any session, with the
//     same path and an overlapping domain, and its domains' exact keys.
//
// A backend URL that net/url rejects stops the apply midway: the routes
// appended before it stay live ("partial apply"), and the session's staging
// and applied set are left exactly as they were, so a retry appends them again.
func (s *Server) cmdApply(c *conn, sess *session, _ []string) reply {
	in := c.in
	st := &sess.stage
	if msg := validate(st); msg != "" {
		return errorf(msg) // nothing applied
	}
	headers, options := liveValues(st.headers), liveValues(st.options)
	for _, d := range st.routes {
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
	}

	// Removals act on applied routes only, as they were before this apply
	// (a removed staged route was unstaged by ROUTE_REMOVE).
	removed := make([]routeDef, 0, len(st.removals))
	for _, id := range st.removals {
		if d, ok := sess.active[id]; ok {
			removed = append(removed, d)
		}
	}
	for _, d := range st.routes {
		sess.active[d.id] = d
	}
	for _, d := range removed {
		in.removeMatching(d.domains, d.path)
		delete(sess.active, d.id)
	}
	st.reset()
	return line("OK") // also with nothing staged
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
