package config

import (
	"fmt"
	"strconv"
)

// maxRouteListBytes bounds the file's routes as the registry lists them.
// The agent reads ROUTE_LIST_OK (PROTOCOL.md §3) to check for drift, and its
// client refuses a reply line over 16 MiB; a valid file must not be able to
// produce a reply the client refuses. A route under update is listed twice
// (the active entry and its staged copy), so 4 MiB of routes is at most
// 8 MiB of reply: half the cap, the other half left for routes the file
// does not list (earlier sessions' leftovers) and for the estimate's error.
const maxRouteListBytes = 4 << 20

// routeListEntryLen estimates one route's entry in ROUTE_LIST_OK, as the
// registry writes it: {"route_id":"r123","domains":[...],"path":"...",
// "backend":"...","priority":N,"status":"active"}, and a separator. The id
// is counted at its longest and strings at the length JSON escaping gives.
func routeListEntryLen(r *Route) int {
	n := len(`{"route_id":"r18446744073709551615","domains":[],"path":"","backend":"","priority":,"status":"staged"},`)
	for _, d := range r.Domains {
		n += jsonStringLen(d) + 1 // and a comma
	}
	return n + jsonStringLen(r.Path) + jsonStringLen(r.Backend) + len(strconv.Itoa(r.Priority))
}

// jsonStringLen is the length of s as a JSON string with its quotes, at
// worst: encoding/json writes <, >, & and control bytes as \u00XX.
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c >= 0x80:
			n += 6
		default:
			n++
		}
	}
	return n
}

// checkRouteList refuses, at the first route that crosses it, a file whose
// routes would not fit maxRouteListBytes.
func (p *parseRun) checkRouteList(cfg *Config) {
	total := 0
	for i := range cfg.Routes {
		total += routeListEntryLen(&cfg.Routes[i])
		if total <= maxRouteListBytes {
			continue
		}
		p.add(p.at(&cfg.Routes[i]), "routes["+strconv.Itoa(i)+"]", ErrTooLong, "%s", fmt.Sprintf("the routes up to here add up to more than %d MiB as the registry lists them "+
			"(%d routes; this one alone %d bytes); the agent could not read the registry's route list: "+
			"list fewer or shorter domains, or split the service", maxRouteListBytes>>20, i+1, routeListEntryLen(&cfg.Routes[i])))
		return
	}
}
