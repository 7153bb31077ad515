package client

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaintMode says who holds a maintenance state.
type MaintMode int

const (
	MaintPending MaintMode = iota // sent, not confirmed yet
	MaintProxy                    // confirmed by the proxy (MAINT_OK)
	MaintLocal                    // not confirmed: the service must handle it itself
)

func (m MaintMode) String() string {
	switch m {
	case MaintPending:
		return "pending"
	case MaintProxy:
		return "proxy"
	case MaintLocal:
		return "local"
	}
	return fmt.Sprintf("MaintMode(%d)", int(m))
}

// MaintState is the last maintenance request for one target.
type MaintState struct {
	Target  string
	Entered bool // true: maintenance wanted on; false: wanted off
	Mode    MaintMode
	Since   time.Time
}

type maintOp struct {
	MaintRequest
	acked bool // its ACK was read (reader goroutine, stream order)
	timer *time.Timer
}

type maintEntry struct {
	MaintState
	op *maintOp
}

// maintenance serializes maintenance operations and tracks their outcome.
// §5: the server keeps one pending check per session and a second
// MAINT_ENTER/EXIT silently cancels the first (no MAINT_OK, no ERROR ever
// comes for it). So an operation holds slot from the moment it is requested
// until it is confirmed or has fallen back to local; the next one waits,
// unless it is for the same target: then it supersedes the pending one.
type maintenance struct {
	c    *Client
	slot chan struct{}

	mu      sync.Mutex
	pending *maintOp // awaiting MAINT_OK
	late    *maintOp // fell back to local; its MAINT_OK/ERROR may still come
	states  map[string]*maintEntry
}

func newMaintenance(c *Client) *maintenance {
	return &maintenance{c: c, slot: make(chan struct{}, 1), states: map[string]*maintEntry{}}
}

// MaintenanceEnter puts target ("ALL" or a comma list of route ids: the
// server accepts anything but only acts on route ids of this session, §5) in
// maintenance, serving pageURL ("" = built-in page). It waits for the previous
// maintenance operation to resolve, emits MaintRequested and returns once the
// proxy has ACKed; MaintResolved follows (proxy or local). When
// not connected it falls back to local at once and returns an error wrapping
// ErrDisconnected: the proxy was not told. A refusal returns the
// *ServerError (and falls back to local).
func (c *Client) MaintenanceEnter(ctx context.Context, target, pageURL string) error {
	if err := c.maint.do(ctx, &maintOp{MaintRequest: MaintRequest{Enter: true, Target: target, PageURL: pageURL}}); err != nil {
		return fmt.Errorf("cannot enter maintenance: %w", err)
	}
	return nil
}

// MaintenanceExit ends maintenance for target, like MaintenanceEnter.
func (c *Client) MaintenanceExit(ctx context.Context, target string) error {
	if err := c.maint.do(ctx, &maintOp{MaintRequest: MaintRequest{Target: target}}); err != nil {
		return fmt.Errorf("cannot exit maintenance: %w", err)
	}
	return nil
}

// MaintenanceState is a snapshot of the last request per target, by target.
func (c *Client) MaintenanceState() []MaintState {
	m := c.maint
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MaintState, 0, len(m.states))
	for _, e := range m.states {
		out = append(out, e.MaintState)
	}
	slices.SortFunc(out, func(a, b MaintState) int { return strings.Compare(a.Target, b.Target) })
	return out
}

func (m *maintenance) do(ctx context.Context, op *maintOp) error {
	cmd := Command{Name: op.Command(), Args: []string{op.Target}}
	if op.Enter {
		cmd.Args = append(cmd.Args, op.PageURL)
	}
	if _, err := appendLine(nil, "", cmd); err != nil {
		return err
	}
	m.mu.Lock()
	if p := m.pending; p != nil && p.Target == op.Target {
		// A newer request for the same target (the operator changed their
		// mind) would wait for a check that may take the whole timeout,
		// and sending it cancels that check anyway (§5): the older request
		// is over, unconfirmed.
		m.resolveLocked(p, MaintLocal, "superseded", nil)
	}
	m.mu.Unlock()
	select {
	case m.slot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		// Both were ready and select took the slot: give it back, or the
		// next operation would wait for one never sent.
		<-m.slot
		return err
	}
	m.mu.Lock()
	m.states[op.Target] = &maintEntry{MaintState{Target: op.Target, Entered: op.Enter, Mode: MaintPending, Since: time.Now()}, op}
	m.pending = op
	m.c.emit(MaintRequested{op.MaintRequest})
	if _, _, _, err := m.c.live(); err != nil {
		m.resolveLocked(op, MaintLocal, "not connected", nil)
		m.mu.Unlock()
		// Handled locally, but the proxy was not told: the caller must
		// not count it as done there.
		return disconnected(err)
	}
	op.timer = time.AfterFunc(m.c.opts.MaintenanceTimeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.resolveLocked(op, MaintLocal, "no confirmation in time", nil)
	})
	m.mu.Unlock()

	p, err := m.c.write(ctx, []Command{cmd}, func(_ int, r Result) { m.acked(op, r) }, 0)
	if err != nil {
		// Nothing was written: nothing will confirm it, and the next
		// operation must not wait for it.
		m.mu.Lock()
		m.resolveLocked(op, MaintLocal, "not sent", err)
		m.mu.Unlock()
		return err
	}
	res, err := m.c.wait(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return err // written: the op stays pending until it resolves
		}
		m.mu.Lock()
		m.resolveLocked(op, MaintLocal, "send failed", err)
		m.mu.Unlock()
		return err
	}
	// A refusal (ERROR reply) was already resolved to local by acked.
	return res[0].Err
}

// acked runs on the reader goroutine with the reply to op's command.
func (m *maintenance) acked(op *maintOp, r Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Err != nil {
		m.resolveLocked(op, MaintLocal, "refused by proxy", r.Err)
		return
	}
	op.acked = true
}

// resolveLocked ends op if it is still the pending one: records the outcome,
// reports it and lets the next operation go.
func (m *maintenance) resolveLocked(op *maintOp, mode MaintMode, reason string, err error) {
	if m.pending != op {
		return
	}
	m.pending = nil
	if op.timer != nil {
		op.timer.Stop()
	}
	if e, ok := m.states[op.Target]; ok && e.op == op {
		e.Mode, e.Since = mode, time.Now()
	}
	if mode == MaintLocal {
		m.late = op
	}
	m.c.emit(MaintResolved{MaintRequest: op.MaintRequest, Mode: mode, Reason: reason, Err: err})
	<-m.slot
}

// onOK handles an async MAINT_OK|target. A MAINT_OK read before the pending
// op's ACK cannot be for it if an earlier op with the same target fell back
// to local: the stream is ordered, and the server answers ACK before checking.
func (m *maintenance) onOK(target string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, l := m.pending, m.late
	switch {
	case p != nil && p.Target == target && (p.acked || l == nil || l.Target != target):
		m.resolveLocked(p, MaintProxy, "", nil)
	case l != nil && l.Target == target:
		m.late = nil
		if e, ok := m.states[l.Target]; ok && e.op == l {
			e.Mode, e.Since = MaintProxy, time.Now()
		}
		m.c.emit(MaintResolved{MaintRequest: l.MaintRequest, Mode: MaintProxy, Late: true})
	default:
		m.c.emit(UnexpectedMaintOK{Target: target})
	}
}

// onTimeout handles the target-less "ERROR|timeout waiting for ..." (§5): it
// belongs to the one check the server keeps, i.e. the pending op once ACKed,
// or else the op that already fell back to local.
func (m *maintenance) onTimeout(msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, l := m.pending, m.late
	switch {
	case p != nil && (p.acked || l == nil):
		m.resolveLocked(p, MaintLocal, "proxy check timed out", &ServerError{Command: p.Command(), Message: msg})
	case l != nil:
		m.late = nil
		m.c.emit(MaintLateTimeout{MaintRequest: l.MaintRequest, Err: &ServerError{Command: l.Command(), Message: msg}})
	default:
		m.c.emit(UnexpectedAsyncError{Err: &ServerError{Message: msg}})
	}
}

// disconnected falls back to local: the server forgets a lost session's
// pending check (§7), so nothing more will come for it.
func (m *maintenance) disconnected() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending != nil {
		m.resolveLocked(m.pending, MaintLocal, "disconnected", nil)
	}
	m.late = nil
}

func (m *maintenance) stop() { m.disconnected() }

// onAsync routes an async line (reader goroutine).
func (c *Client) onAsync(kind lineKind, r Reply) {
	switch kind {
	case lineMaintOK:
		c.maint.onOK(r.Payload)
	case lineMaintTimeout:
		c.maint.onTimeout(r.Payload)
	case lineEvent:
		typ, payload, _ := strings.Cut(r.Payload, "|")
		c.emit(ServerEvent{Type: typ, Payload: payload})
	case lineShutdown:
		c.emit(ServerShutdown{})
	}
}
