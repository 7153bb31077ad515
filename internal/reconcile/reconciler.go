package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
)

// Options configure a Reconciler.
type Options struct {
	// OnReport receives what each pass did (see Report), on the Run
	// goroutine, never under a lock. It must not block for long.
	OnReport func(Report)
	// Logger receives what is only worth a log line: a replay, drift, the
	// plan's warnings. Default discards.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Backoff is the retry schedule after an error; zero means
	// client.DefaultBackoff().
	Backoff client.Backoff
	// Rand is the jitter source; default math/rand/v2.
	Rand func() float64
	// Service and Instance name the memory handed to Remember.
	Service, Instance string
	// Inherited is what an earlier process of this agent made live, from
	// its state file; nil when unknown. The first session purges it, with
	// every desired route, and releases its maintenance (§7).
	Inherited *Memory
	// Remember, when set, receives what may be live on the proxy before
	// and after each execution, on the Run goroutine, when it changed.
	Remember func(Memory)
}

// Result says when the next pass is due without any event.
type Result struct {
	// RequeueAfter, when positive, is the delay to the next pass.
	RequeueAfter time.Duration
}

// Reconciler converges the proxy to the desired state, one level-based pass
// at a time. Create it with New, give it a config with SetDesired, and
// call Run.
type Reconciler struct {
	conn Conn
	opts Options

	dirty chan struct{} // cap 1: duplicate signals merge

	mu      sync.Mutex // guards the fields below, for Status and SetDesired
	desired *Desired
	version uint64 // bumped by SetDesired
	drift   time.Duration
	thresh  float64
	st      Status
	done    uint64 // desired version last applied without error
	inForce uint64 // version whose state in force (itself, or the last good one) is applied
	// plan is the last plan; planText its Diff once Status rendered it.
	plan         Changeset
	planText     string
	planRendered bool
	snap         Applied // copy of applied, for Applied()

	// Owned by the Run goroutine.
	applied      Applied
	recover      bool      // rollback and re-read before the next plan
	suspect      bool      // the failure was a refused apply: re-add everything
	lastDrift    time.Time // last ROUTE_LIST comparison
	terminalAt   uint64    // desired version that failed for good; 0 = none
	terminalErr  error     // why terminalAt failed
	good         *Desired  // the last desired state applied without error
	lastWarnings string
	remembered   *Memory // last memory handed to Remember
}

// New returns a Reconciler that talks to the proxy through conn.
func New(conn Conn, opts Options) *Reconciler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backoff == (client.Backoff{}) {
		opts.Backoff = client.DefaultBackoff()
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{conn: conn, opts: opts, dirty: make(chan struct{}, 1), applied: NewApplied(0)}
}

// SetDesired makes cfg (validated by config.Parse) the desired state and
// marks a pass due. selfIP fills the default maintenance page.
func (r *Reconciler) SetDesired(cfg *config.Config, selfIP string) {
	r.setDesired(FromConfig(cfg, selfIP), cfg.Reconcile.DriftInterval.D(), cfg.Reconcile.MassRemovalThreshold)
}

func (r *Reconciler) setDesired(d Desired, drift time.Duration, threshold float64) {
	r.mu.Lock()
	r.desired = &d
	r.version++
	r.drift = drift
	r.thresh = threshold
	r.mu.Unlock()
	r.Trigger()
}

// Trigger marks a pass due.
func (r *Reconciler) Trigger() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// HandleEvent is a client event handler (client.Options.OnEvent): a
// (re)connection marks a pass due, which replays everything when the
// session is new (rule 9).
func (r *Reconciler) HandleEvent(ev client.Event) {
	switch ev.(type) {
	case client.Connected, client.Reconnected:
		r.Trigger()
	}
}

// Run reconciles whenever a pass is due until ctx ends: after SetDesired,
// Trigger or a reconnect; after an error, with backoff; at the drift
// interval; when maintenance ends by itself. It returns nil when ctx ends.
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
		switch {
		case err == nil || isTerminal(err):
			attempt = 0
		default:
			next = r.opts.Backoff.Delay(attempt, r.opts.Rand)
			attempt++
		}
		timer.Stop()
		if next > 0 {
			timer.Reset(next)
		}
	}
}

func isTerminal(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrMassRemoval)
}

// Reconcile runs one pass; Run calls it, and it must not be called while Run
// runs. It notices a new session, re-read the server's route
// list when due, plan, execute. A terminal error (invalid config, refused
// mass removal) is returned once and then not retried until SetDesired.
func (r *Reconciler) Reconcile(ctx context.Context) (Result, error) {
	r.mu.Lock()
	d, version, driftEvery, thresh := r.desired, r.version, r.drift, r.thresh
	r.mu.Unlock()
	// While the current desired state is refused, the last good one stays
	// in force: it is still replayed after a new session, repaired after
	// drift and its maintenance still ends at `until`.
	fallback := version == r.terminalAt
	if fallback {
		d = r.good
	}
	if d == nil {
		return Result{}, nil
	}
	if err := r.conn.WaitConnected(ctx); err != nil {
		return Result{}, fmt.Errorf("cannot reconcile: %w", err)
	}
	now := r.opts.Now()
	r.count(func(s *Status) { s.Passes++ })

	if gen := r.conn.Generation(); gen != r.applied.Generation {
		// A new REGISTER: the session is empty; replay everything and
		// purge what the old session left served (rule 9, §7).
		if r.applied.Generation != 0 {
			r.count(func(s *Status) { s.Replays++ })
			r.opts.Logger.Info(fmt.Sprintf("new session %s: replaying the configuration", r.conn.SessionID()))
		}
		if r.applied.Generation == 0 {
			r.applied = takeOver(gen, *d, r.opts.Inherited)
		} else {
			r.applied = r.applied.Reset(gen)
		}
		// Purging and releasing are brief outages: the probe the client
		// sent with REGISTER may prove there is nothing to purge.
		r.applied.noteID(r.conn.ProbedRouteID())
		r.recover = false
		r.lastDrift = now
	}
	if r.recover {
		if err := r.reread(ctx, true); err != nil {
			return r.failed(err)
		}
	} else if driftEvery > 0 && now.Sub(r.lastDrift) >= driftEvery {
		if err := r.reread(ctx, false); err != nil {
			return r.failed(err)
		}
	}

	c := Plan(*d, r.applied, PlanOptions{Now: now, MassRemovalThreshold: thresh})
	r.warn(c)
	r.mu.Lock()
	// Rendered by Status when asked: for thousands of routes the text costs
	// as much as the plan.
	r.plan, r.planText, r.planRendered = c, "", false
	r.st.LastPlanAt, r.st.LastCounts = now, c.Counts()
	r.mu.Unlock()
	if c.Err != nil {
		if fallback {
			return r.failed(c.Err)
		}
		return r.refused(version, c.Err)
	}

	res := Result{}
	if !c.RequeueAt.IsZero() {
		// Maintenance ends by itself then (rule 7).
		res.RequeueAfter = max(c.RequeueAt.Sub(now), time.Millisecond)
	}
	if driftEvery > 0 {
		left := max(driftEvery-now.Sub(r.lastDrift), time.Millisecond)
		if res.RequeueAfter <= 0 || left < res.RequeueAfter {
			res.RequeueAfter = left
		}
	}
	if c.Empty() {
		r.succeeded(d, version, fallback)
		return res, nil
	}

	start := time.Now()
	r.remember(r.applied, &c)
	a, stats, err := execute(ctx, r.conn, r.applied, c, r.report)
	r.applied = a
	r.remember(a, nil)
	r.count(func(s *Status) { s.Writes += stats.Writes; s.Commands += stats.Commands })
	if err != nil {
		r.recover = true
		r.suspect = errors.Is(err, errApplyFailed)
		// Roll back what may still be staged and re-read the truth
		// now (rule 8); if that fails, the next pass does it.
		if rerr := r.reread(ctx, true); rerr == nil {
			r.recover = false
		}
		// Retrying a configuration the server refuses cannot succeed (§3).
		if errors.Is(err, client.ErrInvalidConfig) && !fallback {
			return r.refused(version, fmt.Errorf("%w: the server refused it: %w", ErrInvalid, err))
		}
		return r.failed(err)
	}
	// Publish the state first: whoever reacts to ConfigApplied (readiness,
	// status) must already see it.
	r.succeeded(d, version, fallback)
	r.report(ConfigApplied{Changes: c.Counts(), Commands: stats.Commands, Writes: stats.Writes, Duration: time.Since(start)})
	return res, nil
}

// reread replaces what Applied believes by what ROUTE_LIST shows (rules 8,
// 10). After a failure it first rolls back anything left staged; after a
// refused apply (r.suspect) it also marks every route for re-adding: a
// partial apply may have left the session's list and the proxy's table
// disagreeing (§3, §4). Other failures (a refused maintenance request, a
// lost reply) leave the routes as the list shows them: re-adding them all
// would put every route through a break-before-make gap for nothing.
func (r *Reconciler) reread(ctx context.Context, afterFailure bool) error {
	// A list read from a newer session would make this one's routes look
	// gone; the next pass resets for the new session instead (rule 9).
	sameSession := func() error {
		if r.conn.Generation() != r.applied.Generation {
			return fmt.Errorf("cannot read routes: %w", client.ErrSessionChanged)
		}
		return nil
	}
	if err := sameSession(); err != nil {
		return err
	}
	if afterFailure {
		var b client.Batch
		b.Rollback()
		if _, err := r.conn.Send(ctx, &b); err != nil {
			return fmt.Errorf("cannot roll back: %w", err)
		}
	}
	infos, err := r.conn.ListRoutes(ctx)
	if err != nil {
		return fmt.Errorf("cannot list routes: %w", err)
	}
	if err := sameSession(); err != nil {
		return err
	}
	r.lastDrift = r.opts.Now()
	before := r.applied
	r.applied = r.applied.Observe(listed(infos))
	if afterFailure && r.suspect {
		for name, ar := range r.applied.Routes {
			ar.Unverified = true
			r.applied.Routes[name] = ar
		}
		r.suspect = false
	} else if !afterFailure {
		if drift := driftText(before, r.applied); drift != "" {
			r.count(func(s *Status) { s.Drifts++ })
			r.opts.Logger.Warn("drift: " + drift)
		}
	}
	return nil
}

func driftText(before, after Applied) string {
	var missing, changed int
	for name, b := range before.Routes {
		a, ok := after.Routes[name]
		switch {
		case !ok:
			missing++
		case a.Unverified && !b.Unverified, a.Spec.Priority != b.Spec.Priority:
			changed++
		}
	}
	extra := len(after.Strays) - len(before.Strays)
	if missing+changed+max(extra, 0) == 0 {
		return ""
	}
	return fmt.Sprintf("%d routes missing, %d different, %d unknown on the proxy", missing, changed, len(after.Strays))
}

// refused records that desired version v is refused for good (rule 8, 11)
// and marks a pass due, which converges to the last good state instead.
func (r *Reconciler) refused(v uint64, err error) (Result, error) {
	r.terminalAt, r.terminalErr = v, err
	res, err := r.failed(err)
	if r.good != nil {
		r.Trigger()
	}
	return res, err
}

// succeeded publishes a pass that ended without error. In fallback the
// current version is still refused: its error stays on show.
func (r *Reconciler) succeeded(d *Desired, v uint64, fallback bool) {
	if fallback {
		r.mu.Lock()
		r.st.LastError, r.st.Terminal = r.terminalErr.Error(), true
		r.inForce = v
		r.mu.Unlock()
		r.setApplied(r.terminalErr)
		return
	}
	r.good = d
	r.setApplied(nil)
	r.converged(v)
}

func (r *Reconciler) failed(err error) (Result, error) {
	r.mu.Lock()
	r.st.LastError, r.st.LastErrorAt = err.Error(), r.opts.Now()
	r.st.Errors++
	r.st.Terminal = isTerminal(err)
	r.mu.Unlock()
	r.setApplied(err)
	r.report(Failed{Err: err})
	return Result{}, err
}

func (r *Reconciler) warn(c Changeset) {
	text := fmt.Sprint(c.Warnings)
	if text == r.lastWarnings {
		return
	}
	r.lastWarnings = text
	for _, w := range c.Warnings {
		r.opts.Logger.Warn(w)
	}
}

func (r *Reconciler) report(rep Report) {
	if r.opts.OnReport != nil {
		r.opts.OnReport(rep)
	}
}
