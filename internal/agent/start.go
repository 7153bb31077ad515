package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"regagent/internal/config"
	"regagent/internal/status"
)

// placeholderIP renders ${SELF_IP} while the file is read only to learn
// its service.ip_cidr, or to check it while no address is known. It is
// never registered.
const placeholderIP = "127.0.0.1"

// maxAddressRetry bounds the wait between looks for an address while the
// file uses ${SELF_IP} and the host has none for it.
const maxAddressRetry = 2 * time.Second

// start loads the file under the SELF_IP rule. An invalid file ends it
// with config.Errors, unless Options.WaitForValidConfig: then every
// content is reported until one is valid. A file that uses ${SELF_IP} on
// a host with no address for it is never rendered with another address:
// start waits, not ready, looking again every few seconds (and at every
// Reload) until one appears. The status endpoint starts once the file is
// valid, so that /readyz says why the agent waits. A nil config with a nil
// error means ctx ended first.
func (a *Agent) start(ctx context.Context) (*config.Config, *status.Server, error) {
	var (
		srv     *status.Server
		tick    *time.Ticker
		missing string // the AddressMissing last reported
	)
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		r, err := a.rule.Load(a.opts.ConfigPath, a.baseParseOptions(), placeholderIP)
		var errs config.Errors
		switch {
		case err != nil && a.opts.WaitForValidConfig && errors.As(err, &errs):
			valid, werr := a.awaitValid(ctx)
			if werr != nil || !valid {
				return nil, srv, werr
			}
			continue
		case err != nil:
			a.metrics.reloads.WithLabelValues("invalid").Inc()
			return nil, srv, err
		}
		if srv == nil {
			if srv, err = a.startStatus(r.Config); err != nil {
				return nil, nil, err
			}
		}
		if r.NoAddress == nil {
			a.mu.Lock()
			a.selfIP, a.waiting, a.invalid = r.SelfIP, "", nil
			a.mu.Unlock()
			if missing != "" {
				a.report(AddressFound{IP: r.SelfIP})
			}
			return r.Config, srv, nil
		}
		if msg := r.NoAddress.Error(); msg != missing {
			missing = msg
			a.report(AddressMissing{Err: r.NoAddress})
		}
		a.mu.Lock()
		a.waiting = "waiting for an address for ${SELF_IP}: " + missing
		a.mu.Unlock()
		if tick == nil {
			tick = time.NewTicker(a.addressRetry())
		}
		select {
		case <-ctx.Done():
			return nil, srv, nil
		case <-tick.C:
		case <-a.reload:
		}
	}
}

// addressRetry is how often start looks for an address: the address check
// interval, at most maxAddressRetry.
func (a *Agent) addressRetry() time.Duration {
	if every := a.ipCheckInterval(); every > 0 && every < maxAddressRetry {
		return every
	}
	return maxAddressRetry
}

// awaitValid follows the file, reporting every invalid content, until a
// valid one appears (true) or ctx ends (false).
func (a *Agent) awaitValid(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.waiting = "waiting for a valid config file"
	a.mu.Unlock()
	valid := false
	opts := a.baseParseOptions()
	lookup := opts.Lookup
	opts.Lookup = func(name string) (string, bool) {
		if name == "SELF_IP" {
			// Only the file's validity is in question here; start renders
			// it for real once it is valid.
			return placeholderIP, true
		}
		return lookup(name)
	}
	err := config.Watch(ctx, a.opts.ConfigPath, config.WatchOptions{Parse: opts, Reload: a.reload}, func(u config.Update) {
		if u.Err == nil {
			valid = true
			cancel()
			return
		}
		a.reportInvalid(u, true)
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return false, fmt.Errorf("cannot wait for a valid config: %w", err)
	}
	return valid, nil
}

// reportInvalid records an invalid content of the file for the status and
// reports it; waiting: no config has been applied yet.
func (a *Agent) reportInvalid(u config.Update, waiting bool) {
	a.metrics.reloads.WithLabelValues("invalid").Inc()
	a.mu.Lock()
	a.invalid, a.invalidHash = u.Err, u.Hash
	a.mu.Unlock()
	ev := ConfigInvalid{File: a.opts.ConfigPath, Hash: u.Hash, Waiting: waiting}
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
}
