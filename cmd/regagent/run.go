package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"regagent/internal/agent"
	"regagent/internal/config"
)

func runDaemon(ctx context.Context, args []string, env *environment) error {
	fs := newFlagSet("run", env.stderr)
	cfgFlag := fs.String("c", "", "config file (default $REGAGENT_CONFIG, else ./registry.yaml)")
	proxy := fs.String("proxy", "", "registry address host:port, overriding proxy.address")
	statusAddr := fs.String("status-addr", "", "status endpoint address, overriding status.address")
	lf := addLogFlags(fs, "auto")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run takes no arguments, got %q", fs.Args())
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
		Lookup:     env.getenv,
		Logger:     logger,
	})
	if err != nil {
		return err
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
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
	return reportConfigErrors(a.Run(ctx), env)
}

// reportConfigErrors prints every config error on its own line, compiler
// style, and turns them into a silent exit 1.
func reportConfigErrors(err error, env *environment) error {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(env.stderr, e.Error())
	}
	fmt.Fprintf(env.stderr, "regagent: the config is invalid (%d errors); nothing was sent\n", len(errs))
	return &exitCodeError{code: exitError}
}
