package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"regagent/internal/agent"
	"regagent/internal/reconcile"
	"regagent/internal/redact"
	"regagent/internal/registrysim"
)

// tablePrinter prints the simulated proxy's table when it may have changed.
type tablePrinter struct {
	mu    sync.Mutex
	w     io.Writer
	sim   *registrysim.Server
	last  string
	names map[string]string // route id -> the file's name, as ROUTE_ADDED said
}

func (p *tablePrinter) onEvent(ev agent.Event) {
	switch ev.Name {
	case agent.EventRouteAdded:
		if d, ok := ev.Detail.(reconcile.RouteAdded); ok {
			p.mu.Lock()
			if p.names == nil {
				p.names = map[string]string{}
			}
			p.names[d.ID] = d.Name
			p.mu.Unlock()
		}
		return
	case agent.EventConfigApplied, agent.EventMaintProxyEntered, agent.EventMaintProxyExited,
		agent.EventMaintLocalEntered, agent.EventMaintLocalExited:
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	table := p.render()
	if table == p.last {
		return
	}
	p.last = table
	fmt.Fprint(p.w, table)
}

// final prints the table as the demo leaves it.
func (p *tablePrinter) final() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\nThe demo has stopped; the proxy's table as it is left:")
	fmt.Fprint(p.w, p.render())
}

// render is the table now; it forgets the names of routes gone from it.
func (p *tablePrinter) render() string {
	routes := p.sim.ProxyRoutes()
	live := map[string]bool{}
	for _, r := range routes {
		live[r.ID] = true
	}
	for id := range p.names {
		if !live[id] {
			delete(p.names, id)
		}
	}
	return renderTable(routes, p.sim.InMaintenance(), p.names)
}

// temporaryHost tells the routes regagent adds for its own needs: a keeper
// that holds a backend's maintenance while its route is re-added, or the
// copy that releases it (PROTOCOL.md §5), on hosts nobody requests.
func temporaryHost(domains []string) bool {
	for _, d := range domains {
		if !strings.HasSuffix(d, ".regagent.invalid") {
			return false
		}
	}
	return len(domains) > 0
}

// renderTable shows which host and path reach which backend: a row per
// domain, the route named as the file does (names maps ids to names), its
// id as the proxy gave it. regagent's temporary routes are counted, not
// listed: they are not the user's.
func renderTable(routes []registrysim.ProxyRoute, maint []string, names map[string]string) string {
	var b strings.Builder
	var rows []registrysim.ProxyRoute
	for _, r := range routes {
		if !temporaryHost(r.Domains) {
			rows = append(rows, r)
		}
	}
	fmt.Fprintf(&b, "\n--- proxy routing table (%d routes) ---\n", len(rows))
	if len(rows) == 0 {
		b.WriteString("(no routes)\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROUTE\tID\tHOST\tPATH\tBACKEND\tSTATE")
		for _, r := range rows {
			state := "live"
			if slices.Contains(maint, r.Backend) {
				state = "maintenance"
			}
			if r.Disabled {
				state += " (session gone)"
			}
			name := names[r.ID]
			if name == "" {
				name = "-"
			}
			for _, d := range r.Domains {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, r.ID, d, r.Path, redact.URLPasswords(r.Backend), state)
			}
		}
		tw.Flush()
	}
	if n := len(routes) - len(rows); n > 0 {
		fmt.Fprintf(&b, "(+%d temporary route(s) of regagent's on *.regagent.invalid, not shown: they carry a backend's maintenance across a change)\n", n)
	}
	return b.String()
}
