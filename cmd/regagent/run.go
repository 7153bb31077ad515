package main

import (
	"context"
	"sync"
	"time"

	"regagent/internal/agent"
	"regagent/internal/sdnotify"
)

// runDaemon is "regagent run": the agent against the real registry, with
// readiness reported to systemd.
func runDaemon(ctx context.Context, args []string, env *environment) error {
	d := newDaemon("run", "auto", env)
	cfgFlag := d.fs.String("c", "", "config file (default $REGAGENT_CONFIG, else ./registry.yaml)")
	proxy := d.fs.String("proxy", "", "registry address host:port, overriding proxy.address")
	statusAddr := d.fs.String("status-addr", "", "status endpoint address, overriding status.address")
	stateFile := d.fs.String("state-file", "", "state file, overriding state.file (\"off\" disables it)")
	selfIP := addSelfIPFlag(d.fs)
	if err := d.parse(args); err != nil {
		return err
	}
	path := configPath(*cfgFlag, env)
	v, c, goVersion := buildVersion()
	d.log.Info("regagent starting", "version", v, "commit", c, "go", goVersion, "config", path)
	return d.run(ctx, agent.Options{
		ConfigPath: path,
		ProxyAddr:  *proxy,
		StatusAddr: *statusAddr,
		StateFile:  *stateFile,
		SelfIP:     *selfIP,
	}, d.notifySystemd)
}

// notifySystemd tells the manager of a Type=notify systemd unit
// ($NOTIFY_SOCKET) when the agent is first ready, as /readyz would say,
// and when shutdown begins (ctx ends), until the returned stop is called.
func (d *daemon) notifySystemd(ctx context.Context, a *agent.Agent) (stop func()) {
	socket, _ := d.env.getenv("NOTIFY_SOCKET")
	n, err := sdnotify.New(socket)
	if err != nil {
		d.log.Warn("cannot notify systemd", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ready := func() bool { ok, _ := a.Ready(); return ok }
		if err := n.Run(ctx, ready, 100*time.Millisecond); err != nil {
			d.log.Warn("cannot notify systemd", "err", err)
		}
	}()
	return func() { cancel(); wg.Wait() }
}
