package agent

import (
	"context"
	"fmt"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
)

// defaultShutdownTimeout bounds deregistering when Options.ShutdownTimeout
// is not set; drain mode adds its drain timeout.
const defaultShutdownTimeout = 10 * time.Second

// shutdown leaves the proxy as the file's shutdown block says, then stops
// the client (stop) and waits for its Run to end (done). It never takes
// longer than the shutdown timeout.
func (a *Agent) shutdown(cl *client.Client, stop func(), done <-chan struct{}) error {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	mode, drain := cfg.Shutdown.Mode, cfg.Shutdown.DrainTimeout.D()
	bound := a.opts.ShutdownTimeout
	if bound <= 0 {
		bound = defaultShutdownTimeout
		if mode == config.ShutdownDrain {
			bound += drain
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	a.log.Info("shutting down", "mode", string(mode), "bound", bound.String())

	if mode == config.ShutdownDrain && cl.State() == client.StateConnected {
		if until, err := cl.DrainStart(ctx, drain); err != nil {
			a.log.Warn("cannot start drain; deregistering now", "err", err)
		} else {
			a.log.Info("draining", "until", until.Format(time.RFC3339), "drain_timeout", drain.String())
			t := time.NewTimer(drain)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
	var err error
	if mode != config.ShutdownKeep {
		// In keep mode there is no CLIENT_SHUTDOWN: the proxy keeps
		// serving the routes for its grace period (§7).
		connected := cl.State() == client.StateConnected
		if err = cl.Deregister(ctx); err == nil && connected {
			a.log.Info("deregistered: the proxy has removed this service's routes")
		} else if err == nil {
			a.log.Warn("not connected: nothing deregistered; the proxy keeps any routes of the last session for its grace period")
		}
	} else {
		a.log.Info("routes left on the proxy for its grace period (shutdown.mode keep)")
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("cannot close: %w", ctx.Err())
		}
	}
	if err != nil {
		return fmt.Errorf("cannot close the registry connection: %w", err)
	}
	return nil
}
