package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"regagent/internal/agent"
	"regagent/internal/redact"
	"regagent/internal/registrysim"
)

// runDemo starts an in-process registry on loopback and the agent against
// it, and prints the simulated proxy's routing table after every change, so
// editing the file shows its effect at once.
func runDemo(ctx context.Context, args []string, env *environment) error {
	d := newDaemon("demo", "text", env)
	cfgFlag := d.fs.String("c", "examples/registry.yaml", "config file")
	statusAddr := d.fs.String("status-addr", "", "also serve the status endpoint here")
	if err := d.parse(args); err != nil {
		return err
	}
	// Maintenance pages count as reachable: the demo has no page server,
	// and an unreachable page would only delay MAINT_OK (PROTOCOL.md §5).
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		return fmt.Errorf("cannot start the simulated registry: %w", err)
	}
	defer sim.Close()
	fmt.Fprintf(env.stdout, "Simulated go-proxy registry on %s. Edit %s and watch the table; Ctrl-C ends.\n",
		sim.Addr(), *cfgFlag)

	// The simulated registry starts empty each time, so no earlier process
	// can have left anything in it: a state file of this run only, which
	// goes with it.
	stateDir, err := os.MkdirTemp("", "regagent-demo-")
	if err != nil {
		return fmt.Errorf("cannot create the demo's state directory: %w", err)
	}
	defer os.RemoveAll(stateDir)

	tp := &tablePrinter{w: env.stdout, sim: sim}
	return d.run(ctx, agent.Options{
		ConfigPath: *cfgFlag,
		ProxyAddr:  sim.Addr(),
		StatusAddr: *statusAddr,
		StateFile:  filepath.Join(stateDir, "regagent.state"),
		OnEvent:    tp.onEvent,
	})
}

// tablePrinter prints the simulated proxy's table when it may have changed.
type tablePrinter struct {
	mu   sync.Mutex
	w    io.Writer
	sim  *registrysim.Server
	last string
}

func (p *tablePrinter) onEvent(ev agent.Event) {
	switch ev.Name {
	case agent.EventConfigApplied, agent.EventMaintProxyEntered, agent.EventMaintProxyExited,
		agent.EventMaintLocalEntered, agent.EventMaintLocalExited:
	default:
		return
	}
	table := renderTable(p.sim.ProxyRoutes(), p.sim.InMaintenance())
	p.mu.Lock()
	defer p.mu.Unlock()
	if table == p.last {
		return
	}
	p.last = table
	fmt.Fprint(p.w, table)
}

// renderTable shows which host and path reach which backend.
func renderTable(routes []registrysim.ProxyRoute, maint []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n--- proxy routing table (%d routes) ---\n", len(routes))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tHOST\tPATH\tBACKEND\tSTATE")
	for _, r := range routes {
		state := "live"
		if slices.Contains(maint, r.Backend) {
			state = "maintenance"
		}
		if r.Disabled {
			state += " (session gone)"
		}
		for _, d := range r.Domains {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, d, r.Path, redact.URLPasswords(r.Backend), state)
		}
	}
	tw.Flush()
	return b.String()
}
