package reconcile

import (
	"context"
	"log/slog"
	"math/rand/v2"
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
	// Requeue asks for the next pass at once: after a refused desired
	// state, to converge to the last good one instead.
	Requeue bool
}

// Reconciler converges the proxy to the desired state, one level-based pass
// at a time. Create it with New, give it a config with SetDesired, and
// call Run.
//
// Its state lives in two places by owner: the board, under a mutex, is
// where SetDesired posts the desired state and every pass publishes its
// outcome for Status and Applied; the pass, owned by the goroutine that
// runs passes (Run), holds what is applied and what the next pass must do.
type Reconciler struct {
	opts  Options
	dirty chan struct{} // cap 1: duplicate signals merge
	board *board
	pass  *pass
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
	b := &board{conn: conn, now: opts.Now}
	return &Reconciler{opts: opts, dirty: make(chan struct{}, 1), board: b, pass: newPass(conn, opts, b)}
}

// SetDesired makes cfg (validated by config.Parse) the desired state and
// marks a pass due. selfIP fills the default maintenance page.
func (r *Reconciler) SetDesired(cfg *config.Config, selfIP string) {
	r.setDesired(FromConfig(cfg, selfIP), cfg.Reconcile.DriftInterval.D(), cfg.Reconcile.MassRemovalThreshold)
}

func (r *Reconciler) setDesired(d Desired, drift time.Duration, threshold float64) {
	r.board.post(d, drift, threshold)
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
// session is new (planner rule 9, docs/planner.md).
func (r *Reconciler) HandleEvent(ev client.Event) {
	switch ev.(type) {
	case client.Connected, client.Reconnected:
		r.Trigger()
	}
}

// Reconcile runs one pass; Run calls it, and it must not be called while Run
// runs. It notices a new session, re-reads the server's route list when
// due, plans and executes, then publishes the outcome for Status. A
// terminal error (a refused config or mass removal, see TerminalError) is
// returned once and then not retried until SetDesired.
func (r *Reconciler) Reconcile(ctx context.Context) (Result, error) {
	return r.pass.run(ctx, r.board.wanted())
}
