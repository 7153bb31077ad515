package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"regagent/internal/agent"
	"regagent/internal/config"
	"regagent/internal/redact"
	"regagent/internal/sdnotify"
)

func runDaemon(ctx context.Context, args []string, env *environment) error {
	fs := newFlagSet("run", env.stderr)
	cfgFlag := fs.String("c", "", "config file (default $REGAGENT_CONFIG, else ./registry.yaml)")
	proxy := fs.String("proxy", "", "registry address host:port, overriding proxy.address")
	statusAddr := fs.String("status-addr", "", "status endpoint address, overriding status.address")
	stateFile := fs.String("state-file", "", "state file, overriding state.file (\"off\" disables it)")
	lf := addLogFlags(fs, "auto")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	logger, err := lf.logger(env.stderr)
	if err != nil {
		return err
	}
	path := configPath(*cfgFlag, env)
	v, c, goVersion := buildVersion()
	logger.Info("regagent starting", "version", v, "commit", c, "go", goVersion, "config", path)
	a, err := agent.New(agent.Options{
		ConfigPath: path,
		ProxyAddr:  *proxy,
		StatusAddr: *statusAddr,
		StateFile:  *stateFile,
		Lookup:     env.getenv,
		Logger:     logger,
	})
	if err != nil {
		return err
	}

	defer reloadOnHUP(a)()
	defer notifySystemd(ctx, a, env, logger)()
	return reportConfigErrors(a.Run(ctx), env, "nothing was sent")
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

// notifySystemd tells the manager of a Type=notify systemd unit
// ($NOTIFY_SOCKET) when the agent is first ready, as /readyz would say,
// and when shutdown begins (ctx ends), until the returned stop is called.
func notifySystemd(ctx context.Context, a *agent.Agent, env *environment, logger *slog.Logger) (stop func()) {
	socket, _ := env.getenv("NOTIFY_SOCKET")
	n, err := sdnotify.New(socket)
	if err != nil {
		logger.Warn("cannot notify systemd", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ready := func() bool { ok, _ := a.Ready(); return ok }
		if err := n.Run(ctx, ready, 100*time.Millisecond); err != nil {
			logger.Warn("cannot notify systemd", "err", err)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// reportConfigErrors prints every config error on its own line, compiler
// style, and turns them into a silent exit 1; outcome says what that meant
// ("nothing was sent").
func reportConfigErrors(err error, env *environment, outcome string) error {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return err
	}
	// An invalid file has no list of its secrets: URL passwords at least
	// are masked.
	for _, e := range errs {
		fmt.Fprintln(env.stderr, redact.URLPasswords(e.Error()))
	}
	fmt.Fprintf(env.stderr, "regagent: the config is invalid (%d errors); %s\n", len(errs), outcome)
	return &exitCodeError{code: exitError}
}
