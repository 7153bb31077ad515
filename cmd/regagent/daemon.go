package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"regagent/internal/agent"
)

// daemon is the wiring run and demo share: flags, then the logger their
// --log-format and --log-level ask for, then one agent over the file,
// re-reading it on SIGHUP, until ctx ends; an invalid file is reported
// compiler style. A command adds its own flags to fs before parse, and
// passes to run the agent's options and its companions.
type daemon struct {
	env *environment
	fs  *flag.FlagSet
	lf  *logFlags
	log *slog.Logger // set by parse
}

// newDaemon returns the wiring of the command name, whose --log-format
// defaults to logFormat.
func newDaemon(name, logFormat string, env *environment) *daemon {
	fs := newFlagSet(name, env.stderr)
	return &daemon{env: env, fs: fs, lf: addLogFlags(fs, logFormat)}
}

// parse parses args, refuses positional ones and builds the logger.
func (d *daemon) parse(args []string) error {
	if err := parseFlags(d.fs, args); err != nil {
		return err
	}
	if err := noArgs(d.fs); err != nil {
		return err
	}
	log, err := d.lf.logger(d.env.stderr)
	if err != nil {
		return err
	}
	d.log = log
	return nil
}

// companion runs beside the agent: it is started once the agent exists,
// before its Run, and stopped after Run has returned.
type companion func(ctx context.Context, a *agent.Agent) (stop func())

// run creates the agent from opts, reading ${VAR} from the process's
// environment and logging to the logger, and runs it until ctx ends and
// its shutdown is over. A file invalid at start ends it with every error
// printed and exit 1, before anything is sent.
func (d *daemon) run(ctx context.Context, opts agent.Options, companions ...companion) error {
	opts.Lookup = d.env.getenv
	opts.Logger = d.log
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	// Installed before Run: a SIGHUP without a handler would end the
	// process.
	defer reloadOnHUP(a)()
	for _, start := range companions {
		defer start(ctx, a)()
	}
	return reportConfigErrors(a.Run(ctx), d.env, "nothing was sent")
}

// reloadOnHUP makes SIGHUP reload the file until the returned stop is
// called.
func reloadOnHUP(a *agent.Agent) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				a.Reload()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
