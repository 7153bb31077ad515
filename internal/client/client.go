package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// Options configure a Client. Zero durations get their defaults; a negative
// KeepaliveInterval disables the keepalive.
type Options struct {
	Addr               string // host:port of the registry
	Service, Instance  string
	MaintenancePort    int
	Metadata           map[string]string
	DialTimeout        time.Duration // dial, and the whole handshake; default 5s
	WriteTimeout       time.Duration // one write; default 10s
	KeepaliveInterval  time.Duration // PING period; default 15s, at least 1s
	KeepaliveTimeout   time.Duration // PONG deadline; default 5s
	MaintenanceTimeout time.Duration // wait for MAINT_OK before local fallback; default 30s
	Backoff            Backoff       // zero: DefaultBackoff; see Backoff for the minimums
	// Dial opens the connection; default a net.Dialer with TCP keepalive on.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Sleep waits between reconnect tries; default a timer. It must return
	// early with ctx's error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64 // jitter source in [0,1); default math/rand/v2
	// Now tells how long a connection stayed up (a connection lost soon
	// after its handshake counts as a failed try); default time.Now.
	Now    func() time.Time
	Logger *slog.Logger // optional
	// OnEvent, when set, receives every Event in order, on one goroutine
	// of Run's, never under a lock. A slow handler delays later events,
	// never the connection. It may call any method of the Client.
	OnEvent func(Event)
	// OnRoundTrip, when set, is told of every write whose replies all
	// arrived: the names of its commands and the time from the write to the
	// last reply (metrics). It runs on the sending goroutine; keep it short.
	OnRoundTrip func(commands []string, rtt time.Duration)
}

// State is the connection state of a Client.
type State int

const (
	StateDisconnected State = iota
	StateConnecting
	StateConnected
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "DISCONNECTED"
	case StateConnecting:
		return "CONNECTING"
	case StateConnected:
		return "CONNECTED"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Client is a registry client. Create it with New and call Run once; Run
// returns when its context ends. All methods are safe for concurrent use.
type Client struct {
	opts     Options
	metadata string // REGISTER's metadata JSON
	events   *dispatcher
	maint    *maintenance

	mu        sync.Mutex
	state     State
	cn        *conn // the live connection, nil when not connected
	sid       string
	gen       uint64
	probed    string        // route id the probe got after REGISTER, "" if none
	replaced  uint64        // generation already reported as replaced
	connected chan struct{} // closed while connected
	closed    bool          // deregistered, or Run ended: no connection any more
	closedCh  chan struct{} // closed with closed
	running   bool
}

// New checks opts, fills defaults and returns a Client. It starts nothing.
func New(opts Options) (*Client, error) {
	if opts.Addr == "" {
		return nil, errors.New("cannot create client: empty Addr")
	}
	if opts.Service == "" || opts.Instance == "" {
		return nil, errors.New("cannot create client: Service and Instance are required")
	}
	for i, v := range []string{opts.Service, opts.Instance} {
		if err := checkField("REGISTER", i+1, v); err != nil {
			return nil, fmt.Errorf("cannot create client: %w", err)
		}
	}
	md := opts.Metadata
	if md == nil {
		md = map[string]string{}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("cannot create client: metadata: %w", err)
	}
	if strings.ContainsRune(string(b), '|') {
		return nil, fmt.Errorf("cannot create client: %w: metadata contains '|'", ErrUnsafeField)
	}
	c := &Client{metadata: string(b), connected: make(chan struct{}), closedCh: make(chan struct{})}
	setDefaults(&opts)
	c.opts = opts
	// A REGISTER over the line budget would fail every handshake, forever.
	if _, err := appendLine(nil, "", c.registerCommand()); err != nil {
		return nil, fmt.Errorf("cannot create client: %w", err)
	}
	c.events = newDispatcher(opts.OnEvent)
	c.maint = newMaintenance(c)
	return c, nil
}

func setDefaults(opts *Options) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.DialTimeout, 5*time.Second)
	def(&opts.WriteTimeout, 10*time.Second)
	def(&opts.KeepaliveInterval, 15*time.Second)
	def(&opts.KeepaliveTimeout, 5*time.Second)
	def(&opts.MaintenanceTimeout, 30*time.Second)
	// A library caller is not checked by config: a tiny period here is a
	// PING storm on a live connection, so it is raised, not refused.
	if opts.KeepaliveInterval > 0 {
		opts.KeepaliveInterval = max(opts.KeepaliveInterval, minKeepaliveInterval)
	}
	opts.Backoff = opts.Backoff.withDefaults()
	if opts.Dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		opts.Dial = d.DialContext
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = randFloat
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Client) emit(e Event) { c.events.emit(e) }

// State is the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID is the session id of the current (or last) registration.
func (c *Client) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sid
}

// Generation increments on every REGISTER: each value is a new, empty server
// session into which configuration must be replayed (§2, §7).
func (c *Client) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// ProbedRouteID is the route id the proxy gave a route staged and rolled
// back right after the current session's REGISTER, "" if unknown. Route
// ids restart at r1 when the proxy restarts (§8): compared with the ids of
// an earlier session, it tells whether the proxy kept that session's
// routes.
func (c *Client) ProbedRouteID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probed
}

// connectedCh returns a channel that is closed while a connection is up (and
// will be closed by the next connect when it is not).
func (c *Client) connectedCh() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// WaitConnected blocks until a connection is up, ctx ends or c is closed.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		ch := c.connectedCh()
		select {
		case <-ch:
			if c.State() == StateConnected {
				return nil
			}
		case <-c.closedCh:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// live returns the current connection, its session id and generation.
func (c *Client) live() (*conn, string, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cn == nil {
		if c.closed {
			return nil, "", 0, ErrClosed
		}
		return nil, "", 0, ErrDisconnected
	}
	return c.cn, c.sid, c.gen, nil
}

// Do sends one command and waits for its reply. An ERROR reply is returned as
// a *ServerError; a transport failure wraps ErrDisconnected.
func (c *Client) Do(ctx context.Context, cmd Command) (Reply, error) {
	res, err := c.send(ctx, []Command{cmd}, nil, 0)
	if err != nil {
		return Reply{}, err
	}
	return res[0].Reply, res[0].Err
}

// Send writes every command of b in one write and returns one Result per
// command, in order. The error is non-nil only if b holds an unsafe or
// over-long command, if no connection is up, or if b is bound to another
// session (then nothing was written); if the connection broke before every
// reply arrived (then the Results received so far are returned, the rest
// carry ErrDisconnected); or if ctx ended first (then there are no Results:
// the replies still coming are read and dropped, so what the server staged
// is unknown to the caller, who must roll back or re-read).
func (c *Client) Send(ctx context.Context, b *Batch) ([]Result, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.cmds) == 0 {
		return nil, nil
	}
	return c.send(ctx, b.cmds, nil, b.session)
}

// send writes cmds in one write on the live connection, if its session is
// generation session (0: any), and waits for every reply.
func (c *Client) send(ctx context.Context, cmds []Command, onReply func(int, Result), session uint64) ([]Result, error) {
	p, err := c.write(ctx, cmds, onReply, session)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, p)
}

// sent is a write whose replies are awaited.
type sent struct {
	w     *waiter
	start time.Time
}

// write checks and writes cmds; an error means nothing was written.
func (c *Client) write(ctx context.Context, cmds []Command, onReply func(int, Result), session uint64) (sent, error) {
	if err := ctx.Err(); err != nil {
		return sent{}, err
	}
	cn, sid, gen, err := c.live()
	if err == nil && session != 0 && gen != session {
		err = fmt.Errorf("%w: batch for session generation %d, now %d", ErrSessionChanged, session, gen)
	}
	if err != nil {
		// Encode anyway so unsafe input is reported as such, not as a
		// connection problem.
		if _, eerr := encode(sid, cmds); eerr != nil {
			return sent{}, eerr
		}
		return sent{}, err
	}
	buf, err := encode(sid, cmds)
	if err != nil {
		return sent{}, err
	}
	w := &waiter{cmds: cmds, results: make([]Result, len(cmds)), done: make(chan struct{}), onReply: onReply}
	start := time.Now()
	if err := cn.send(buf, w); err != nil {
		return sent{}, err
	}
	return sent{w: w, start: start}, nil
}

// wait returns the replies of a write; see Send for the errors.
func (c *Client) wait(ctx context.Context, p sent) ([]Result, error) {
	select {
	case <-p.w.done:
	case <-ctx.Done():
		// The waiter stays queued: its replies will still arrive and must be
		// consumed in order (FIFO), they are just dropped.
		return nil, ctx.Err()
	}
	c.roundTrip(p.w.cmds, p.w, time.Since(p.start))
	for _, r := range p.w.results {
		if r.Err != nil && errors.Is(r.Err, ErrDisconnected) {
			return p.w.results, r.Err
		}
	}
	return p.w.results, nil
}

// roundTrip reports a completed write to OnRoundTrip; a write cut short by
// a broken connection is not a round trip.
func (c *Client) roundTrip(cmds []Command, w *waiter, rtt time.Duration) {
	if c.opts.OnRoundTrip == nil {
		return
	}
	names := make([]string, len(cmds))
	for i, cmd := range cmds {
		if r := w.results[i]; r.Err != nil && errors.Is(r.Err, ErrDisconnected) {
			return
		}
		names[i] = cmd.Name
	}
	c.opts.OnRoundTrip(names, rtt)
}

// encode checks and encodes every command before anything is written.
func encode(sid string, cmds []Command) ([]byte, error) {
	var buf []byte
	for _, cmd := range cmds {
		var err error
		if buf, err = appendLine(buf, sid, cmd); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// Deregister ends the session: it sends CLIENT_SHUTDOWN, after which the
// server removes the session's routes and closes the connection (§2), and
// waits for SHUTDOWN_OK within ctx. From then on the client does not
// connect again; the owner ends Run by ending its context. Without a
// connection there is no session to end, and it returns nil.
func (c *Client) Deregister(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.closedCh)
	}
	cn, sid := c.cn, c.sid
	c.mu.Unlock()
	if cn == nil {
		return nil
	}
	cmd := Command{Name: "CLIENT_SHUTDOWN"}
	buf, _ := appendLine(nil, sid, cmd)
	w := &waiter{cmds: []Command{cmd}, results: make([]Result, 1), done: make(chan struct{})}
	err := cn.send(buf, w)
	if err == nil {
		select {
		case <-w.done:
			err = w.results[0].Err
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("cannot deregister: %w", err)
	}
	return nil
}
