package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// extendedRetryAfter is the number of failed tries in a row after which
// ExtendedRetry is emitted (once per outage).
const extendedRetryAfter = 5

// Run connects, serves the connection and reconnects until ctx ends, then
// closes the client: ending ctx is how the owner stops it, with or without
// deregistering first (see Deregister). Connection failures of every kind,
// DNS failures included, are retried forever with backoff; they are
// reported as events, never returned. Run returns nil, only after every
// goroutine it started has exited; ErrClosed if the client was closed
// before it ran.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.running:
		c.mu.Unlock()
		return errors.New("cannot run: client already running")
	}
	c.running = true
	c.mu.Unlock()

	var wg sync.WaitGroup
	stopEvents := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); c.events.run(stopEvents) }()

	c.loop(ctx)
	<-ctx.Done() // after Deregister the loop ends first

	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.closedCh)
	}
	c.state = StateClosed
	c.mu.Unlock()
	c.maint.stop()
	close(stopEvents) // the dispatcher delivers what is queued, then exits
	wg.Wait()
	return nil
}

// minStableFor is the shortest time a connection must stay up to count as
// good; see stableFor.
const minStableFor = 10 * time.Second

// stableFor is how long a connection must stay up before it counts as good
// and resets the backoff. A registry that answers REGISTER and then drops the
// connection must not get a fresh REGISTER and replay every Initial: until
// the connection has outlived two keepalive rounds (the server answered
// PINGs, not only the handshake), and at least minStableFor, its loss counts
// as one more failed try.
func (c *Client) stableFor() time.Duration {
	if c.opts.KeepaliveInterval > 0 {
		return max(minStableFor, 2*c.opts.KeepaliveInterval)
	}
	return minStableFor
}

// loop is the connect → serve → back off cycle. Two kinds of failed tries
// are counted apart because they cost the registry very different amounts:
// a refused dial (probes) next to nothing, a handshake that failed or a
// connection lost before it was stable (flaps) a REGISTER and a replay.
func (c *Client) loop(ctx context.Context) {
	var (
		tries    int  // reconnect tries since the last good connection
		fails    int  // failed tries in a row, of both kinds
		probes   int  // refused dials in a row
		flaps    int  // handshakes or unstable connections in a row
		extended bool // ExtendedRetry already emitted in this outage
		first    = true
		served   bool  // a connection was up before: the next one is a reconnect
		lastErr  error // why the previous try or connection failed
	)
	fail := func(err error) {
		fails++
		lastErr = err
		if fails >= extendedRetryAfter && !extended {
			extended = true
			c.emit(ExtendedRetry{Attempt: fails, Flapping: flaps > 0, Err: err})
		}
	}
	for !c.stopping(ctx) {
		if !first {
			d := c.retryDelay(probes, flaps)
			tries++
			c.emit(Retrying{Attempt: tries, Delay: d, Flapping: flaps > 0, Err: lastErr})
			if err := c.opts.Sleep(ctx, d); err != nil || c.stopping(ctx) {
				return
			}
		}
		first = false
		c.setState(StateConnecting)
		oldSID := c.SessionID()
		cn, replay, dialed, err := c.connect(ctx)
		if err != nil {
			c.setState(StateDisconnected)
			if c.stopping(ctx) {
				return
			}
			if dialed {
				probes, flaps = 0, flaps+1
			} else {
				probes++
			}
			c.opts.Logger.Debug("connect failed", "attempt", fails+1, "err", err)
			fail(err)
			continue
		}
		probes = 0
		up := c.opts.Now()
		err = c.serve(ctx, cn, served, replay, oldSID)
		served = true
		if c.stopping(ctx) {
			return
		}
		if uptime := c.opts.Now().Sub(up); uptime < c.stableFor() {
			flaps++
			// One short connection is a registry restarted twice; two in
			// a row are worth a warning.
			if flaps >= 2 {
				c.opts.Logger.Warn("connection flapping", "uptime", uptime, "flaps", flaps, "err", err)
				c.emit(Flapping{Count: flaps, Uptime: uptime, Err: err})
			}
			fail(err)
			continue
		}
		tries, fails, flaps, extended, lastErr = 0, 0, 0, false, err
	}
}

// retryDelay is the wait before the next try. After probes refused dials in
// a row the next try is only a dial again, which costs the registry next to
// nothing, so the wait is capped at Backoff.ProbeMax: a restarted registry is
// found within ProbeMax of accepting connections whatever the outage length.
// Otherwise the next try costs a REGISTER and a replay, and the wait follows
// the full schedule up to Max by the flaps in a row (none after a stable
// connection was lost: Initial).
//
// Probe waits are jittered downwards only, uniformly over the last Jitter
// fraction: Delay's ±Jitter clamped at the cap would make half the waits
// exactly ProbeMax, and clients that lost the registry at the same moment
// would keep dialling it in step.
func (c *Client) retryDelay(probes, flaps int) time.Duration {
	b := c.opts.Backoff
	if probes == 0 {
		return b.Delay(flaps-1, c.opts.Rand)
	}
	b.Max = min(b.Max, b.ProbeMax)
	d := b.Delay(probes-1, nil)
	return time.Duration(float64(d) * (1 - b.Jitter*c.opts.Rand()))
}

func (c *Client) stopping(ctx context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || ctx.Err() != nil
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	if c.state != StateClosed {
		c.state = s
	}
	c.mu.Unlock()
}

// serve publishes cn, runs its reader and keepalive until it breaks, then
// unpublishes it, fails its waiters and reports the loss.
func (c *Client) serve(ctx context.Context, cn *conn, reconnect, replay bool, oldSID string) error {
	c.mu.Lock()
	c.cn, c.state = cn, StateConnected
	close(c.connected)
	sid, gen := c.sid, c.gen
	c.mu.Unlock()

	if reconnect {
		c.emit(Reconnected{SessionID: sid, OldSessionID: oldSID, Generation: gen, Replay: replay})
	} else {
		c.emit(Connected{SessionID: sid, Generation: gen, Replay: replay})
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); cn.readLoop() }()
	if c.opts.KeepaliveInterval > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); c.keepalive(cn) }()
	}
	select {
	case <-cn.done:
	case <-ctx.Done():
		cn.fail(ErrClosed)
	case <-c.closedCh:
		// Deregister may still be waiting for SHUTDOWN_OK on this
		// connection; the server closes it after answering (§2), or ctx
		// ends.
		select {
		case <-cn.done:
		case <-ctx.Done():
			cn.fail(ErrClosed)
		}
	}
	wg.Wait()

	c.mu.Lock()
	c.cn = nil
	requested := c.closed || ctx.Err() != nil
	if c.state != StateClosed {
		c.state = StateDisconnected
	}
	c.connected = make(chan struct{})
	c.mu.Unlock()
	c.maint.disconnected()
	err := disconnected(cn.cause())
	c.emit(Disconnected{SessionID: sid, Err: err, Requested: requested})
	return err
}

// connect dials and performs the handshake synchronously under one deadline.
// replay reports whether the session is new (REGISTER) rather than restored;
// dialed whether the dial succeeded (a failure after it is the handshake's).
func (c *Client) connect(ctx context.Context) (cn *conn, replay, dialed bool, err error) {
	cn, replay, err = c.dialHandshake(ctx, &dialed)
	return cn, replay, dialed, err
}

// dialHandshake is connect; *dialed is set once the dial succeeded.
func (c *Client) dialHandshake(ctx context.Context, dialed *bool) (cn *conn, replay bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	nc, err := c.opts.Dial(dctx, "tcp", c.opts.Addr)
	if err != nil {
		return nil, false, fmt.Errorf("cannot connect: %w", err)
	}
	*dialed = true
	// Ending ctx (Run stopping) must interrupt a handshake blocked on I/O.
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	deadline, _ := dctx.Deadline()
	_ = nc.SetDeadline(deadline)

	cn = newConn(nc, c.opts.WriteTimeout)
	cn.onLine = c.onAsync
	cn.onResult = c.observe
	replay, err = c.handshake(cn)
	if err != nil {
		cn.fail(err)
		return nil, false, fmt.Errorf("cannot connect: %w", err)
	}
	if !stop() {
		cn.fail(ctx.Err())
		return nil, false, fmt.Errorf("cannot connect: %w", context.Cause(dctx))
	}
	_ = nc.SetDeadline(time.Time{})
	return cn, replay, nil
}

// handshake restores the previous session if the server allows it, or
// registers a new one. §2: the server cannot restore a session on a new
// connection and answers RECONNECT with "ERROR|no session" (a future server
// may answer OK, or REREGISTER); every answer but OK means register+replay.
func (c *Client) handshake(cn *conn) (replay bool, err error) {
	oldSID := c.SessionID()
	if oldSID != "" {
		r, err := c.call(cn, oldSID, Command{Name: "RECONNECT"})
		if err == nil && r.Err == nil && r.Reply.Kind == "OK" {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	// The probe rides in the same write as REGISTER: the server ignores
	// the session field and acts on the connection's session (§2).
	rs, err := c.callAll(cn, "", append([]Command{c.registerCommand()}, probeCommands()...))
	if err != nil {
		return false, fmt.Errorf("cannot register: %w", err)
	}
	r := rs[0]
	if r.Err != nil {
		return false, fmt.Errorf("cannot register: %w", r.Err)
	}
	if r.Reply.Kind != "ACK" || r.Reply.Payload == "" {
		return false, fmt.Errorf("cannot register: %w: reply %s", ErrProtocol, r.Reply.Kind)
	}
	probed := ""
	if p := rs[1]; p.Err == nil && p.Reply.Kind == "ROUTE_OK" {
		probed = p.Reply.Payload
	}
	c.mu.Lock()
	c.sid = r.Reply.Payload
	c.gen++
	c.probed = probed
	c.mu.Unlock()
	return true, nil
}

// probeHost and probeBackend name a route nobody requests (RFC 2606).
const (
	probeHost    = "probe.regagent.invalid"
	probeBackend = "http://probe.regagent.invalid"
)

// probeCommands stage a route and roll it back: nothing reaches the proxy
// (§3), and the reply tells the proxy's next route id (see ProbedRouteID).
func probeCommands() []Command {
	return []Command{
		{Name: "ROUTE_ADD", Args: []string{probeHost, "/", probeBackend, "0"}},
		{Name: "CONFIG_ROLLBACK"},
	}
}

// call does one command synchronously on a connection whose reader is not
// running yet, reading on the calling goroutine (nats-style handshake).
func (c *Client) call(cn *conn, sid string, cmd Command) (Result, error) {
	rs, err := c.callAll(cn, sid, []Command{cmd})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// callAll is call for several commands written at once.
func (c *Client) callAll(cn *conn, sid string, cmds []Command) ([]Result, error) {
	buf, err := encode(sid, cmds)
	if err != nil {
		return nil, err
	}
	w := &waiter{cmds: cmds, results: make([]Result, len(cmds)), done: make(chan struct{})}
	if err := cn.send(buf, w); err != nil {
		return nil, err
	}
	rb := make([]byte, 4096)
	for {
		select {
		case <-w.done:
			for _, r := range w.results {
				if r.Err != nil && errors.Is(r.Err, ErrDisconnected) {
					return nil, r.Err
				}
			}
			return w.results, nil
		default:
		}
		n, err := cn.nc.Read(rb)
		if n > 0 {
			if perr := cn.p.feed(rb[:n], cn.dispatchLine, cn.dispatchLong); perr != nil {
				cn.fail(perr)
			}
		}
		if err != nil {
			cn.fail(err)
		}
	}
}
