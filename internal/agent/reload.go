package agent

import (
	"context"
	"net"
	"reflect"
	"strings"
	"time"

	"regagent/internal/config"
	"regagent/internal/hostip"
	"regagent/internal/reconcile"
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
		a.reportInvalid(u, false)
		return
	}
	a.setSecrets(u.Config)
	a.metrics.reloads.WithLabelValues("valid").Inc()
	a.mu.Lock()
	old := a.cfg
	a.cfg, a.invalid = u.Config, nil
	selfIP, rec := a.selfIP, a.rec
	a.mu.Unlock()
	a.report(ConfigValidated{File: a.opts.ConfigPath, Hash: u.Hash, Routes: u.Routes,
		Unchanged: sameDesired(old, u.Config, selfIP), Warnings: warningTexts(u.Config)})
	if keys := restartOnly(old, u.Config); len(keys) > 0 {
		a.report(RestartNeeded{Keys: keys})
	}
	// The page first: a page URL the reconciler is about to register
	// must already be served.
	if err := a.syncPage(u.Config); err != nil {
		a.report(PageServeFailed{Address: u.Config.PageServerAddress(), Err: err})
	}
	if rec != nil {
		rec.SetDesired(u.Config, selfIP)
	}
}

// sameDesired tells a content that changes nothing the reconciler does (a
// revert to the config in force, a comment): both render to the same
// desired state.
func sameDesired(old, cfg *config.Config, selfIP string) bool {
	if old == nil {
		return false
	}
	if old.Hash == cfg.Hash {
		return true
	}
	return reflect.DeepEqual(reconcile.FromConfig(old, selfIP), reconcile.FromConfig(cfg, selfIP))
}

// warningTexts are cfg's warnings as config words them, with positions.
func warningTexts(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.Error())
	}
	return out
}

// restartOnly lists the changed keys the running agent does not take live,
// by their full name in the file (proxy.keepalive_interval): the registry
// address, its timings and the identity REGISTER sent (they belong to the
// session), the settings of the watcher and status endpoint, and the state
// file (read once, at start).
func restartOnly(a, b *config.Config) []string {
	if a == nil {
		return nil
	}
	var keys []string
	keys = changedKeys(keys, "proxy", a.Proxy, b.Proxy)
	keys = changedKeys(keys, "service", a.Service, b.Service)
	keys = changedKeys(keys, "reload", a.Reload, b.Reload)
	keys = changedKeys(keys, "status", a.Status, b.Status)
	return changedKeys(keys, "state", a.State, b.State)
}

// changedKeys appends to keys the name of every field of the section x
// (prefix) that differs in y, going into sub-sections (proxy.backoff).
func changedKeys(keys []string, prefix string, x, y any) []string {
	vx, vy := reflect.ValueOf(x), reflect.ValueOf(y)
	t := vx.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + "." + name
		fx, fy := vx.Field(i).Interface(), vy.Field(i).Interface()
		if f.Type.Kind() == reflect.Struct && isSection(f.Type) {
			keys = changedKeys(keys, key, fx, fy)
		} else if !reflect.DeepEqual(fx, fy) {
			keys = append(keys, key)
		}
	}
	return keys
}

// isSection tells a block of the file (fields with yaml keys) from a
// value such as a duration.
func isSection(t reflect.Type) bool {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("yaml") != "" {
			return true
		}
	}
	return false
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

// detect finds the host's address within cidr: Options.IPSource, else
// the first non-loopback IPv4 address of the interfaces within cidr.
func (a *Agent) detect(cidr string) (net.IP, error) {
	if a.opts.IPSource != nil {
		return a.opts.IPSource()
	}
	return hostip.Detect(a.opts.InterfaceAddrs, cidr)
}

// ipSource is detect within cidr.
func (a *Agent) ipSource(cidr string) func() (net.IP, error) {
	return func() (net.IP, error) { return a.detect(cidr) }
}

// checkIP asks for the host's address and reports IP_CHANGED when it
// differs from the last one seen; the first one seen is only recorded,
// unless the file was rendered without one. An explicit SELF_IP never
// changes.
func (a *Agent) checkIP() {
	if a.rule.Override != "" {
		return
	}
	a.mu.Lock()
	ipw, had := a.ipw, a.selfIP != ""
	a.mu.Unlock()
	if ipw == nil {
		return
	}
	old, ip, err := ipw.Check()
	if err != nil {
		a.report(AddressUnreadable{Err: err})
		return
	}
	if old == nil {
		if !had {
			// The file did not use ${SELF_IP} at start, and the host had
			// no address then: a later edit may.
			a.ipChanged(ip.String())
		}
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
