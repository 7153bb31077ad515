package agent

import (
	"context"
	"errors"
	"maps"
	"net"
	"time"

	"regagent/internal/config"
	"regagent/internal/hostip"
)

// watch follows the file until ctx ends; every valid content becomes the
// desired state, an invalid one is reported and changes nothing.
func (a *Agent) watch(ctx context.Context, initial *config.Config) {
	opts := config.WatchOptions{
		Parse:        a.parseOptions(),
		Debounce:     initial.Reload.Debounce.D(),
		PollInterval: initial.Reload.PollInterval.D(),
		Hash:         initial.Hash,
		// Forced reloads (SIGHUP, a new address) parse on the watcher's
		// goroutine too: a parse with the old address can never land
		// after one with the new.
		Reload: a.reload,
	}
	if err := config.Watch(ctx, a.opts.ConfigPath, opts, a.update); err != nil {
		a.report(WatchStopped{Err: err})
		a.reloadLoop(ctx)
	}
}

// reloadLoop re-reads the file on Reload (SIGHUP) when the watcher could
// not start, even when its content is unchanged.
func (a *Agent) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.reload:
			a.reloadNow()
		}
	}
}

// reloadNow reads and parses the file now and delivers the outcome.
func (a *Agent) reloadNow() {
	cfg, err := config.Load(a.opts.ConfigPath, a.parseOptions())
	u := config.Update{Config: cfg, Err: err}
	if cfg != nil {
		u.Hash, u.Routes = cfg.Hash, len(cfg.Routes)
	}
	a.update(u)
}

// update takes one parse outcome: a valid config replaces the desired
// state; an invalid one leaves the last good config in force.
func (a *Agent) update(u config.Update) {
	if u.Err != nil {
		a.metrics.reloads.WithLabelValues("invalid").Inc()
		a.mu.Lock()
		a.invalid, a.invalidHash = u.Err, u.Hash
		a.mu.Unlock()
		ev := ConfigInvalid{File: a.opts.ConfigPath, Hash: u.Hash}
		var errs config.Errors
		if errors.As(u.Err, &errs) {
			ev.Errors = make([]string, len(errs))
			for i, e := range errs {
				ev.Errors[i] = e.Error()
			}
		} else {
			ev.Err = u.Err // not a list of positions: a read error
		}
		a.report(ev)
		return
	}
	a.setSecrets(u.Config)
	a.metrics.reloads.WithLabelValues("valid").Inc()
	a.mu.Lock()
	old := a.cfg
	a.cfg, a.invalid = u.Config, nil
	selfIP, rec := a.selfIP, a.rec
	a.mu.Unlock()
	a.report(ConfigValidated{File: a.opts.ConfigPath, Hash: u.Hash, Routes: u.Routes, Warnings: warningTexts(u.Config)})
	if keys := restartOnly(old, u.Config); len(keys) > 0 {
		a.report(RestartNeeded{Keys: keys})
	}
	if rec != nil {
		rec.SetDesired(u.Config, selfIP)
	}
}

// warningTexts are cfg's warnings as config words them, with positions.
func warningTexts(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.Error())
	}
	return out
}

// restartOnly lists the changed keys the running agent does not take live:
// the registry address and the identity REGISTER sent (they belong to the
// session), the settings of the watcher and status endpoint, and the state
// file (read once, at start).
func restartOnly(a, b *config.Config) []string {
	if a == nil {
		return nil
	}
	var keys []string
	for _, c := range []struct {
		key     string
		changed bool
	}{
		{"proxy", a.Proxy != b.Proxy},
		{"service.name", a.Service.Name != b.Service.Name},
		{"service.instance", a.Service.Instance != b.Service.Instance},
		{"service.maintenance_port", a.Service.MaintenancePort != b.Service.MaintenancePort},
		{"service.ip_cidr", a.Service.IPCIDR != b.Service.IPCIDR},
		{"service.metadata", !maps.Equal(a.Service.Metadata, b.Service.Metadata)},
		{"reload", a.Reload != b.Reload},
		{"status", a.Status != b.Status},
		{"state.file", a.State != b.State},
	} {
		if c.changed {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// defaultIPCheckInterval is how often the address is checked when
// Options.IPCheckInterval is zero.
const defaultIPCheckInterval = 30 * time.Second

func (a *Agent) ipCheckInterval() time.Duration {
	if a.opts.IPCheckInterval == 0 {
		return defaultIPCheckInterval
	}
	return a.opts.IPCheckInterval
}

// ipSource is Options.IPSource, or the host's interfaces within cidr.
func (a *Agent) ipSource(cidr string) func() (net.IP, error) {
	if a.opts.IPSource != nil {
		return a.opts.IPSource
	}
	return func() (net.IP, error) { return hostip.Detect(cidr) }
}

// checkIP asks for the host's address and reports IP_CHANGED when it
// differs from the last one seen; the first one seen is only recorded.
func (a *Agent) checkIP() {
	a.mu.Lock()
	ipw := a.ipw
	a.mu.Unlock()
	old, ip, err := ipw.Check()
	if err != nil {
		a.report(AddressUnreadable{Err: err})
		return
	}
	if old == nil {
		return
	}
	a.report(IPChanged{Old: old, New: ip})
	a.ipChanged(ip.String())
}

// ipChanged re-renders the file for the new address: backends written as
// ${SELF_IP} change, and the reconciler moves the routes.
func (a *Agent) ipChanged(ip string) {
	a.mu.Lock()
	a.selfIP = ip
	a.mu.Unlock()
	a.log.Info("own address changed; rendering the file again", "self_ip", ip)
	a.Reload()
}

// detectIP sets SELF_IP from the IP source (or the host's interfaces).
func (a *Agent) detectIP(cidr string) error {
	ip, err := a.ipSource(cidr)()
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.selfIP = ip.String()
	a.mu.Unlock()
	return nil
}
