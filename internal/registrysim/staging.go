package registrysim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// routeDef is a route as a session stages and lists it.
type routeDef struct {
	id       string
	domains  []string
	path     string
	backend  string
	priority int
}

func (d routeDef) clone() routeDef {
	d.domains = slices.Clone(d.domains)
	return d
}

// staging is what a session has staged for the next CONFIG_APPLY (§3).
type staging struct {
	routes   []routeDef         // adds and updated copies, in staging order, one per id
	removals []string           // route ids, in staging order, each once
	headers  map[string]*string // name → value; nil value = removal
	options  map[string]*string // key → typed value; nil value = removal
	health   map[string]string  // route id → health path
}

func (st *staging) reset() {
	*st = staging{
		headers: make(map[string]*string),
		options: make(map[string]*string),
		health:  make(map[string]string),
	}
}

func (st *staging) index(id string) int {
	return slices.IndexFunc(st.routes, func(d routeDef) bool { return d.id == id })
}

// splitDomains splits a domain list the way the server does (§9): items are
// trimmed but empty ones are kept ("a,,b" has three domains, "" has one).
func splitDomains(s string) []string {
	out := strings.Split(s, ",")
	for i, d := range out {
		out[i] = strings.TrimSpace(d)
	}
	return out
}

// parsePriority parses like the server's fmt.Sscanf "%d" (§9): "10abc" is
// 10; a non-number or an overflow leaves old unchanged.
func parsePriority(s string, old int) int {
	p := old
	if _, err := fmt.Sscanf(s, "%d", &p); err != nil {
		return old
	}
	return p
}

// checkRoute is the server's route check (§3, §9): no domains, an empty
// path, or a backend without "://" is refused; anything else goes (empty
// domain items, "api" without a slash, "foo://bar").
func checkRoute(domains []string, path, backend string) string {
	if len(domains) == 0 {
		return "no domains specified"
	}
	if path == "" {
		return "path cannot be empty"
	}
	if !strings.Contains(backend, "://") {
		return "invalid backend url format"
	}
	return ""
}

func (s *Server) cmdRouteAdd(c *conn, sess *session, f []string) reply {
	domains := splitDomains(f[2])
	if msg := checkRoute(domains, f[3], f[4]); msg != "" {
		return errorf(msg)
	}
	d := routeDef{id: c.in.nextRouteID(), domains: domains, path: f[3], backend: f[4], priority: parsePriority(f[5], 0)}
	sess.stage.routes = append(sess.stage.routes, d)
	return line("ROUTE_OK|" + d.id)
}

// cmdRouteAddBulk decodes the entries as generic JSON objects, as the server
// does (§9): keys are case-sensitive, domains are taken as they are (not
// trimmed; non-strings are formatted with %v), a missing or non-array
// "domains" is "no domains specified", a numeric priority is truncated and
// any other priority is 0. Entries are staged one by one: an invalid one
// answers an error but the entries before it stay staged (§3).
func (s *Server) cmdRouteAddBulk(c *conn, sess *session, f []string) reply {
	var entries []map[string]any
	if err := json.Unmarshal([]byte(f[2]), &entries); err != nil {
		return errorf("invalid json") // §1: a "|" in the payload cut it short
	}
	results := []map[string]string{}
	for _, e := range entries {
		domains := []string{}
		if list, ok := e["domains"].([]any); ok {
			for _, d := range list {
				domains = append(domains, fmt.Sprintf("%v", d))
			}
		}
		path, _ := e["path"].(string)
		backend, _ := e["backend_url"].(string)
		prio, _ := e["priority"].(float64)
		if msg := checkRoute(domains, path, backend); msg != "" {
			return errorf(msg)
		}
		d := routeDef{id: c.in.nextRouteID(), domains: domains, path: path, backend: backend, priority: int(prio)}
		sess.stage.routes = append(sess.stage.routes, d)
		results = append(results, map[string]string{"route_id": d.id, "status": "ok"})
	}
	b, _ := json.Marshal(results)
	return line("ROUTE_BULK_OK|" + string(b))
}

// cmdRouteUpdate stages an updated copy (§3, §4): applied, the copy is
// appended to the proxy and the old entry stays there.
func (s *Server) cmdRouteUpdate(_ *conn, sess *session, f []string) reply {
	id, field, value := f[2], f[3], f[4]
	i := sess.stage.index(id)
	var d routeDef
	switch a, ok := sess.active[id]; {
	case i >= 0:
		d = sess.stage.routes[i].clone()
	case ok:
		d = a.clone()
	default:
		return errorf("route not found")
	}
	switch field {
	case "backend_url":
		if !strings.Contains(value, "://") {
			return errorf("invalid backend url")
		}
		d.backend = value
	case "priority":
		d.priority = parsePriority(value, d.priority)
	case "domains":
		d.domains = splitDomains(value)
	case "path":
		d.path = value // an empty path is caught by CONFIG_VALIDATE/APPLY
	default:
		return errorf("unknown field")
	}
	if i >= 0 {
		sess.stage.routes[i] = d
	} else {
		sess.stage.routes = append(sess.stage.routes, d)
	}
	return line("ROUTE_OK")
}

// cmdRouteRemove unstages the route (a staged add, or the staged copy of an
// update) and records the removal, which CONFIG_APPLY carries out only for
// an applied route: adding and removing an unapplied route does nothing.
func (s *Server) cmdRouteRemove(_ *conn, sess *session, f []string) reply {
	id := f[2]
	st := &sess.stage
	i := st.index(id)
	if _, ok := sess.active[id]; !ok && i < 0 {
		return errorf("route not found")
	}
	if i >= 0 {
		st.routes = slices.Delete(st.routes, i, i+1)
	}
	if !slices.Contains(st.removals, id) { // §3: removing twice is OK
		sess.stage.removals = append(sess.stage.removals, id)
	}
	return line("ROUTE_OK")
}

// cmdRouteList answers in a deterministic order (the real server's is
// random, §3): applied routes by id, then staged ones in staging order. An
// updated applied route appears twice; staged removals still read active.
// Each entry is a JSON object with its keys in alphabetical order (§9).
func (s *Server) cmdRouteList(_ *conn, sess *session, _ []string) reply {
	out := []map[string]any{}
	add := func(d routeDef, status string) {
		out = append(out, map[string]any{
			"route_id": d.id, "domains": slices.Clone(d.domains), "path": d.path,
			"backend": d.backend, "priority": d.priority, "status": status,
		})
	}
	for _, id := range sess.activeIDs() {
		add(sess.active[id], "active")
	}
	for _, d := range sess.stage.routes {
		add(d, "staged")
	}
	b, _ := json.Marshal(out)
	return line("ROUTE_LIST_OK|" + string(b))
}

// cmdHealthSet accepts unknown ids and bad durations (§3); the check only
// registers for a route added by the same apply (§4).
func (s *Server) cmdHealthSet(_ *conn, sess *session, f []string) reply {
	sess.stage.health[f[2]] = f[3]
	return line("HEALTH_OK")
}

func (s *Server) cmdOptionsSet(_ *conn, sess *session, f []string) reply {
	if f[2] != "ALL" {
		return errorf("route-specific options not yet supported")
	}
	v := typedOption(f[3], f[4])
	sess.stage.options[f[3]] = &v
	return line("OPTIONS_OK")
}

func (s *Server) cmdOptionsRemove(_ *conn, sess *session, f []string) reply {
	if f[2] != "ALL" {
		return errorf("route-specific options not yet supported")
	}
	delete(sess.stage.options, f[3]) // unstaged: not counted by CONFIG_DIFF
	return line("OPTIONS_OK")
}

func (s *Server) cmdHeadersSet(_ *conn, sess *session, f []string) reply {
	if f[2] != "ALL" { // §3: a route id, or lower-case "all"
		return errorf("route-specific headers not yet supported")
	}
	v := f[4]
	sess.stage.headers[f[3]] = &v
	return line("HEADERS_OK")
}

func (s *Server) cmdHeadersRemove(_ *conn, sess *session, f []string) reply {
	if f[2] != "ALL" {
		return errorf("route-specific headers not yet supported")
	}
	delete(sess.stage.headers, f[3]) // unstaged: not counted by CONFIG_DIFF
	return line("HEADERS_OK")
}

// typedOption stores an option value the way the server types it (§3):
// durations and booleans are parsed, the rest stays a string. Parse errors
// are not reported; the value becomes the zero value ("0s", "false").
func typedOption(key, value string) string {
	switch key {
	case "timeout", "health_check_interval", "health_check_timeout":
		d, _ := time.ParseDuration(value)
		return d.String()
	case "websocket", "compression", "http2", "http3":
		return strconv.FormatBool(value == "true")
	}
	return value
}
