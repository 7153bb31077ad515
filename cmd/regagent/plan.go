package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"regagent/internal/agent"
	"regagent/internal/config"
	"regagent/internal/reconcile"
	"regagent/internal/redact"
)

// runPlan prints what `run` would change. It never connects to the
// registry: a second REGISTER of the same service and instance would evict
// the running agent's session (PROTOCOL.md §2). The applied state comes
// from the running agent's status endpoint, or is empty with --from-empty.
func runPlan(ctx context.Context, args []string, env *environment) error {
	fs := newFlagSet("plan", env.stderr)
	cfgFlag := fs.String("c", "", "config file (default $REGAGENT_CONFIG, else ./registry.yaml)")
	statusAddr := fs.String("status-addr", "", "status endpoint of the running agent (host:port)")
	fromEmpty := fs.Bool("from-empty", false, "plan against an empty proxy instead of a running agent")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if (*statusAddr == "") == !*fromEmpty {
		return errors.New("plan needs exactly one of --status-addr ADDR or --from-empty")
	}
	opts := localParseOptions(env)
	applied := reconcile.NewApplied(0)
	if *statusAddr != "" {
		snap, err := fetchStatus(ctx, *statusAddr)
		if err != nil {
			return err
		}
		if snap.Applied == nil {
			return fmt.Errorf("the agent at %s reports no applied state yet", *statusAddr)
		}
		applied = *snap.Applied
		if snap.SelfIP != "" {
			// Render ${SELF_IP} as the running agent does.
			lookup := opts.Lookup
			opts.Lookup = func(name string) (string, bool) {
				if name == "SELF_IP" {
					return snap.SelfIP, true
				}
				return lookup(name)
			}
		}
	}
	path := configPath(*cfgFlag, env)
	opts.Filename = path
	cfg, err := config.Load(path, opts)
	if err != nil {
		return reportConfigErrors(err, env, "no plan")
	}
	red := redact.New(cfg.Secrets)
	for _, w := range cfg.Warnings {
		fmt.Fprintln(env.stderr, red.String(redact.URLPasswords(w.Error())))
	}
	selfIP, _ := opts.Lookup("SELF_IP")
	c, text, masked, err := planText(cfg, selfIP, applied)
	if err != nil {
		return err
	}
	if masked && *statusAddr != "" {
		fmt.Fprintln(env.stderr, "regagent: secret values are masked in the agent's status and here alike; "+
			"a change of a secret's value alone is not shown")
	}
	if c.Empty() && c.Err == nil {
		fmt.Fprintln(env.stdout, "No changes: the proxy matches the file.")
		// The maintenance windows to come, which the plan lists after
		// its changes, are worth showing when nothing changes now.
		fmt.Fprint(env.stdout, strings.TrimPrefix(text, "no changes\n"))
		return nil
	}
	fmt.Fprint(env.stdout, text)
	if !strings.HasSuffix(text, "\n") && text != "" {
		fmt.Fprintln(env.stdout)
	}
	if c.Err != nil {
		// Diff has said why ("! not applied: ..."); exit 1 without
		// repeating it.
		return &exitCodeError{code: exitError}
	}
	return &exitCodeError{code: exitChanges}
}

// planText plans cfg against applied and renders the plan, with the
// secrets of both masked.
func planText(cfg *config.Config, selfIP string, applied reconcile.Applied) (reconcile.Changeset, string, bool, error) {
	red := redact.New(cfg.Secrets)
	desired, applied, masked, err := maskBoth(red, reconcile.FromConfig(cfg, selfIP), applied)
	if err != nil {
		return reconcile.Changeset{}, "", false, err
	}
	c := reconcile.Plan(desired, applied, reconcile.PlanOptions{
		Now:                  time.Now(),
		MassRemovalThreshold: cfg.Reconcile.MassRemovalThreshold,
	})
	return c, red.String(reconcile.Diff(c)), masked, nil
}

// maskBoth masks the secrets of the desired and the applied state alike.
// The running agent's status document is masked: compared with the file's
// plain values, every secret would read as a change. masked reports whether
// anything was.
func maskBoth(red *redact.Redactor, d reconcile.Desired, a reconcile.Applied) (reconcile.Desired, reconcile.Applied, bool, error) {
	d, md, err := redact.Copy(red, d)
	if err != nil {
		return d, a, false, err
	}
	a, ma, err := redact.Copy(red, a)
	if err != nil {
		return d, a, false, err
	}
	return d, a, md || ma, nil
}

func fetchStatus(ctx context.Context, addr string) (*agent.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := "http://" + addr + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot read agent status: %s answered %s", url, resp.Status)
	}
	var snap agent.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	return &snap, nil
}
