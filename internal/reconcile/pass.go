package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"regagent/internal/client"
)

// pass runs the passes of a Reconciler. It is owned by the goroutine that
// runs them (Run, or a caller of Reconcile): it alone reads and writes what
// is applied in the current session and what the next pass must do first,
// and it publishes the outcome of each pass on the board.
type pass struct {
	conn  Conn
	opts  Options
	board *board

	applied   Applied   // what this session has live, learned from replies
	recover   bool      // roll back and re-read before the next plan
	suspect   bool      // the failure was a refused apply: re-add everything
	lastDrift time.Time // last ROUTE_LIST comparison
	refusal   refusal   // the desired version refused for good
	good      *Desired  // the last desired state applied without error

	lastWarnings string  // the plan warnings last logged
	remembered   *Memory // the memory last handed to Options.Remember
}

// refusal is a desired version that failed for good, and why; version 0 is
// none.
type refusal struct {
	version uint64
	err     error // a TerminalError
}

func newPass(conn Conn, opts Options, b *board) *pass {
	return &pass{conn: conn, opts: opts, board: b, applied: NewApplied(0)}
}

// run is one pass towards w (see Reconciler.Reconcile).
func (p *pass) run(ctx context.Context, w want) (Result, error) {
	// While the current desired state is refused, the last good one stays
	// in force: it is still replayed after a new session, repaired after
	// drift and its maintenance still ends at `until`.
	d, fallback := w.desired, w.version == p.refusal.version
	if fallback {
		d = p.good
	}
	if d == nil {
		return Result{}, nil
	}
	p.board.scheduled(d.Maintenance.Windows)
	if err := p.conn.WaitConnected(ctx); err != nil {
		return Result{}, fmt.Errorf("cannot reconcile: %w", err)
	}
	now := p.opts.Now()
	p.board.count(func(s *Status) { s.Passes++ })
	p.followSession(*d, now)
	if err := p.observe(ctx, now, w.drift); err != nil {
		return p.failed(err)
	}

	c := Plan(*d, p.applied, PlanOptions{Now: now, MassRemovalThreshold: w.threshold})
	p.warn(c)
	p.board.planned(c, now)
	if c.Err != nil {
		return p.refused(w.version, fallback, terminal(c.Err))
	}
	res := p.requeue(c, now, w.drift)
	if c.Empty() {
		p.succeeded(d, w.version, fallback)
		return res, nil
	}
	start := time.Now()
	stats, err := p.execute(ctx, c)
	if err != nil {
		// Retrying a configuration the server refuses cannot succeed (§3).
		if errors.Is(err, client.ErrInvalidConfig) && !fallback {
			return p.refused(w.version, false, terminal(fmt.Errorf("%w: the server refused it: %w", ErrInvalid, err)))
		}
		return p.failed(err)
	}
	// Publish the state first: whoever reacts to ConfigApplied (readiness,
	// status) must already see it.
	p.succeeded(d, w.version, fallback)
	p.report(ConfigApplied{Changes: c.Counts(), Commands: stats.Commands, Writes: stats.Writes, Duration: time.Since(start)})
	return res, nil
}

// observe re-reads the server's route list when the pass must: after a
// failure, to roll back and learn the truth, or when drift is due (planner
// rules 8 and 10, docs/planner.md).
func (p *pass) observe(ctx context.Context, now time.Time, driftEvery time.Duration) error {
	switch {
	case p.recover:
		if err := p.reread(ctx, true); err != nil {
			return err
		}
		p.recover = false
		return nil
	case driftEvery > 0 && now.Sub(p.lastDrift) >= driftEvery:
		return p.reread(ctx, false)
	}
	return nil
}

// requeue says when the next pass is due without an event: when a
// maintenance window begins or ends (planner rule 7, docs/planner.md) or
// drift is due, whichever comes first.
func (p *pass) requeue(c Changeset, now time.Time, driftEvery time.Duration) Result {
	var res Result
	if !c.RequeueAt.IsZero() {
		res.RequeueAfter = max(c.RequeueAt.Sub(now), time.Millisecond)
	}
	if driftEvery > 0 {
		left := max(driftEvery-now.Sub(p.lastDrift), time.Millisecond)
		if res.RequeueAfter <= 0 || left < res.RequeueAfter {
			res.RequeueAfter = left
		}
	}
	return res
}

// execute sends c and keeps what its replies prove. After an error it rolls
// back and re-reads the truth at once (planner rule 8, docs/planner.md);
// if that fails too, the next pass does it.
func (p *pass) execute(ctx context.Context, c Changeset) (execStats, error) {
	p.remember(p.applied, &c)
	a, stats, err := execute(ctx, p.conn, p.applied, c, p.report)
	p.applied = a
	p.remember(a, nil)
	p.board.count(func(s *Status) { s.Writes += stats.Writes; s.Commands += stats.Commands })
	if err != nil {
		p.recover = true
		p.suspect = errors.Is(err, errApplyFailed)
		if rerr := p.reread(ctx, true); rerr == nil {
			p.recover = false
		}
	}
	return stats, err
}

// refused ends a pass whose desired version v is refused for good (planner
// rules 8 and 11, docs/planner.md). In fallback the refused state is the
// last good one: nothing better is left to fall back to, and the error is
// only published. Otherwise v is recorded as refused and, when there is a
// last good state, the next pass is due at once to converge to it.
func (p *pass) refused(v uint64, fallback bool, err error) (Result, error) {
	if fallback {
		return p.failed(err)
	}
	p.refusal = refusal{version: v, err: err}
	res, err := p.failed(err)
	res.Requeue = p.good != nil
	return res, err
}

// succeeded publishes a pass that ended without error. In fallback the
// current version is still refused: its error stays on show.
func (p *pass) succeeded(d *Desired, v uint64, fallback bool) {
	if fallback {
		p.board.fallenBack(v, p.refusal.err)
		p.publish(p.refusal.err)
		return
	}
	p.good = d
	p.publish(nil)
	p.board.converged(v)
}

// failed publishes a pass that ended with err and reports it.
func (p *pass) failed(err error) (Result, error) {
	p.board.failed(err, p.opts.Now())
	p.publish(err)
	p.report(Failed{Err: err})
	return Result{}, err
}

// publish puts the applied state on the board; err is the pass's error.
func (p *pass) publish(err error) {
	p.board.publish(p.applied, p.conn.SessionID(), err)
}

// warn logs the plan's warnings when they differ from the last logged.
func (p *pass) warn(c Changeset) {
	text := fmt.Sprint(c.Warnings)
	if text == p.lastWarnings {
		return
	}
	p.lastWarnings = text
	for _, w := range c.Warnings {
		p.opts.Logger.Warn(w)
	}
}

func (p *pass) report(rep Report) {
	if p.opts.OnReport != nil {
		p.opts.OnReport(rep)
	}
}
