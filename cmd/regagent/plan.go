package main

import (
	"context"
	"errors"
	"fmt"
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
// from the running agent's state document (/v1/state), or is empty with
// --from-empty.
func runPlan(ctx context.Context, args []string, env *environment) error {
	fs := newFlagSet("plan", env.stderr)
	cfgFlag := fs.String("c", "", "config file (default $REGAGENT_CONFIG, else ./registry.yaml)")
	statusAddr := fs.String("status-addr", "", "status endpoint of the running agent ("+statusAddrForms+")")
	fromEmpty := fs.Bool("from-empty", false, "plan against an empty proxy instead of a running agent")
	selfIPFlag := addSelfIPFlag(fs)
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
	rule := selfIPRule(*selfIPFlag, env)
	applied := reconcile.NewApplied(0)
	if *statusAddr != "" {
		st, err := fetchState(ctx, *statusAddr)
		if err != nil {
			return err
		}
		if applied, err = st.AppliedState(); errors.Is(err, agent.ErrNoApplied) {
			return fmt.Errorf("the agent at %s reports no applied state yet", *statusAddr)
		} else if err != nil {
			return fmt.Errorf("cannot read agent status: %w", err)
		}
		if st.SelfIP != "" && *selfIPFlag == "" {
			// Render ${SELF_IP} as the running agent does.
			rule.Override = st.SelfIP
		}
	}
	path := configPath(*cfgFlag, env)
	opts.Filename = path
	r, err := rule.Load(path, opts, assumedSelfIP)
	if err != nil {
		return reportConfigErrors(err, env, "no plan")
	}
	if note := assumption(path, r); note != "" {
		fmt.Fprintf(env.stderr, "regagent: %s\n", note)
	}
	red := redact.New(r.Config.Secrets)
	for _, w := range r.Config.Warnings {
		fmt.Fprintln(env.stderr, red.String(redact.URLPasswords(w.Error())))
	}
	c, text, masked, err := planText(r.Config, r.SelfIP, applied)
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
// The running agent's state document (/v1/state) is masked: compared with
// the file's plain values, every secret would read as a change. masked
// reports whether anything was.
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
