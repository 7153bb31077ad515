package reconcile

import (
	"context"
	"time"
)

// Run reconciles whenever a pass is due until ctx ends: after SetDesired,
// Trigger or a reconnect; after an error, with backoff; at the drift
// interval; when maintenance ends by itself. It returns nil when ctx ends.
//
// The loop is level-based: a signal only marks a pass due (signals merge in
// the 1-buffered dirty channel), and every pass compares the whole desired
// state with the applied one. An error is retried with backoff, which a
// pass without error resets; a TerminalError is not retried.
func (r *Reconciler) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	attempt := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.dirty:
		case <-timer.C:
		}
		res, err := r.Reconcile(ctx)
		if ctx.Err() != nil {
			return nil
		}
		next := res.RequeueAfter
		if err == nil || isTerminal(err) {
			attempt = 0
		} else {
			next = r.opts.Backoff.Delay(attempt, r.opts.Rand)
			attempt++
		}
		if res.Requeue {
			r.Trigger()
		}
		timer.Stop()
		if next > 0 {
			timer.Reset(next)
		}
	}
}
