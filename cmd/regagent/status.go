package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"regagent/internal/agent"
)

// statusAddrForms are the forms --status-addr takes, for flag help.
const statusAddrForms = "host:port, http://host:port, :port or port"

// defaultStatusAddr is where `regagent status` looks without
// --status-addr: the address examples/registry.yaml suggests.
const defaultStatusAddr = "127.0.0.1:9090"

const statusUsage = `Usage: regagent status [--status-addr ADDR] [--format text|json]

Shows what the running agent did, from its status endpoint's state document
(/v1/state): the connection and session, each route with its id, health
check and maintenance, maintenance per target with its confirmation, the
config in force and the file's errors, the last plan and the last error.
The agent serves it when status.address or its --status-addr is set.

Exit codes: 0 the agent is ready, 1 no agent answers (or bad usage, or an
answer that is no state document), 3 the agent answers and is not ready.

Flags:
`

// runStatus is "regagent status".
func runStatus(ctx context.Context, args []string, env *environment) error {
	fs := newFlagSet("status", env.stderr)
	addr := fs.String("status-addr", defaultStatusAddr, "status endpoint of the running agent ("+statusAddrForms+")")
	format := fs.String("format", "text", "output: text, or json (the state document as the agent sent it)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), statusUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("status takes no arguments, got %q (the agent's address is --status-addr ADDR)", fs.Args())
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("cannot use --format %q (want text or json)", *format)
	}
	st, err := fetchState(ctx, *addr)
	if err != nil {
		return err
	}
	if *format == "json" {
		if _, err := env.stdout.Write(st.Raw); err != nil {
			return err
		}
	} else {
		writeStatus(env.stdout, st)
	}
	if !st.Ready {
		return &exitCodeError{code: exitNotReady}
	}
	return nil
}

// writeStatus prints the document for a person: a summary, then a row per
// route and domain as the demo's table has, then the maintenance requests.
func writeStatus(w io.Writer, st *agentState) {
	ready := "ready"
	if !st.Ready {
		ready = "NOT READY: " + st.NotReady
	}
	fmt.Fprintf(w, "agent at %s: %s\n", st.URL, ready)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	c := st.Connection
	conn := c.State
	if c.SessionID != "" {
		conn += fmt.Sprintf(", session %s (generation %d)", c.SessionID, c.Generation)
	}
	fmt.Fprintf(tw, "connection\t%s\n", conn)
	fmt.Fprintf(tw, "address\t%s\n", orNone(st.SelfIP, "none detected (${SELF_IP} is unset)"))
	fmt.Fprintf(tw, "config\t%s\n", configLine(st.Config))
	// The errors and the plan sit under the line they belong to.
	for _, e := range st.Config.Errors {
		fmt.Fprintf(tw, "\t%s\n", cell(e.Text))
	}
	r := st.Reconcile
	fmt.Fprintf(tw, "applied\t%s\n", appliedLine(st.State))
	fmt.Fprintf(tw, "last plan\t%s\n", planLine(r, st.Time))
	if r.LastPlan != "" && r.LastPlan != "no changes\n" {
		for _, l := range strings.Split(boundLines(r.LastPlan, maxPlanLines), "\n") {
			if l != "" {
				fmt.Fprintf(tw, "\t  %s\n", cell(l))
			}
		}
	}
	fmt.Fprintf(tw, "last error\t%s\n", cell(errorLine(r, st.Time)))
	tw.Flush()

	fmt.Fprintf(w, "\nroutes (%d)\n", len(st.Routes))
	if len(st.Routes) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tDOMAIN\tPATH\tBACKEND\tHEALTH\tMAINTENANCE")
		for _, rt := range st.Routes {
			id := rt.ID
			if rt.Unverified {
				id += " (unverified)"
			}
			for _, d := range rt.Domains {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(rt.Name), cell(id), cell(d), cell(rt.Path),
					cell(rt.Backend), cell(healthCell(rt.Health)), cell(maintenanceCell(rt.Maintenance)))
			}
		}
		tw.Flush()
	}
	if len(st.Maintenance) > 0 {
		fmt.Fprintf(w, "\nmaintenance requests (%d)\n", len(st.Maintenance))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tROUTES\tREQUEST\tCONFIRMED\tSINCE")
		for _, m := range st.Maintenance {
			req := "exit"
			if m.Entered {
				req = "enter"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", boundItems(strings.Split(m.Target, ",")), orNone(boundItems(m.Routes), "-"),
				req, m.Mode, when(m.Since, st.Time))
		}
		tw.Flush()
	}
	printWindows(w, st)
}

// printWindows lists the maintenance windows in force and to come.
func printWindows(w io.Writer, st *agentState) {
	ws := st.Reconcile.Windows
	if len(ws) == 0 {
		return
	}
	fmt.Fprintf(w, "\nmaintenance windows (%d)\n", len(ws))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tROUTES\tFROM\tUNTIL\tREASON")
	for _, win := range ws {
		state := "upcoming"
		if win.InForce {
			state = "in force"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(win.Name), state, orNone(boundItems(win.Routes), "all"),
			timeCell(win.From, "-"), timeCell(win.Until, "no end"), cell(orNone(win.Reason, "-")))
	}
	tw.Flush()
}

func timeCell(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func configLine(c agent.StateConfig) string {
	if c.Valid {
		return fmt.Sprintf("%s (hash %s), valid", c.File, short(c.Hash))
	}
	inForce := "none: the agent has not loaded a valid file"
	if c.Hash != "" {
		inForce = "the last valid one (hash " + short(c.Hash) + ")"
	}
	return fmt.Sprintf("%s (hash %s) is INVALID, %s; in force: %s", c.File, short(c.InvalidHash),
		plural(len(c.Errors), "error"), inForce)
}

func appliedLine(st agent.State) string {
	r := st.Reconcile
	s := "not yet"
	switch {
	case r.Converged:
		s = "the config in force is applied"
	case r.InForce:
		s = "the last good config is applied; the newest valid file is not (see last error)"
	case r.LastPlanAt != nil:
		s = "not in force"
	}
	if a := st.Applied; a != nil && len(a.Strays)+len(a.Orphans) > 0 {
		s += fmt.Sprintf("; %d routes of no name or of an earlier session to remove", len(a.Strays)+len(a.Orphans))
	}
	return s
}

func planLine(r agent.StateReconcile, now time.Time) string {
	if r.LastPlanAt == nil {
		return "none yet"
	}
	n := r.LastCounts
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{n.Added, "added"}, {n.Removed, "removed"}, {n.Readded, "re-added"}, {n.Updated, "updated"},
		{n.Purged, "purged"}, {n.MaintEnter, "maintenance entered"}, {n.MaintExit, "maintenance left"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return when(*r.LastPlanAt, now) + ": no changes"
	}
	return fmt.Sprintf("%s: %s, %s", when(*r.LastPlanAt, now), strings.Join(parts, ", "), plural(n.Commands, "command"))
}

func errorLine(r agent.StateReconcile, now time.Time) string {
	if r.LastError == "" {
		return "none"
	}
	s := r.LastError
	if r.LastErrorAt != nil {
		s = when(*r.LastErrorAt, now) + ": " + s
	}
	if r.Terminal {
		s += " (not retried: waits for a change of the file)"
	}
	return s
}

func healthCell(h *agent.StateHealth) string {
	if h == nil {
		return "-"
	}
	return fmt.Sprintf("%s every %s (timeout %s)", h.Path, h.Interval, h.Timeout)
}

func maintenanceCell(m *agent.StateRouteMaintenance) string {
	if m == nil {
		return "-"
	}
	s := "on"
	if m.Mode != "" {
		s += ", " + m.Mode
	}
	return s + ", page " + orNone(m.Page, "the proxy's own")
}

// when shows t and how long before now (the agent's clock) it was.
func when(t, now time.Time) string {
	s := t.Format(time.RFC3339)
	if !now.IsZero() && !now.Before(t) {
		s += fmt.Sprintf(" (%s ago)", now.Sub(t).Round(time.Second))
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// cell keeps a text on its line and in its column of a table.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return orNone(hash, "-")
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// A plan of thousands of routes, or a target naming them all, would push
// the rest off the screen: the text shows their start, --format json all.
const (
	maxPlanLines = 20
	maxItems     = 10
)

func boundLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.TrimSuffix(s, "\n") + "\n"
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("(+%d more lines; --format json shows all)\n", len(lines)-n)
}

func boundItems(items []string) string {
	if len(items) <= maxItems {
		return strings.Join(items, ",")
	}
	return strings.Join(items[:maxItems], ",") + fmt.Sprintf(" (+%d more)", len(items)-maxItems)
}
