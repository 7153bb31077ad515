package faultnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("faultnet: relay closed")

// dialTimeout bounds how long an accepted connection waits for the target.
const dialTimeout = 5 * time.Second

// Relay forwards connections from its listening address to a target and
// injects faults on command. All methods are safe for concurrent use.
type Relay struct {
	target string
	dialer net.Dialer

	ctx    context.Context // cancelled by Close; aborts dials in progress
	cancel context.CancelFunc
	wg     sync.WaitGroup // accept loops and links

	mu        sync.Mutex
	laddr     *net.TCPAddr     // fixed by Start, reused when Refuse ends
	ln        *net.TCPListener // nil while refusing
	links     map[*link]struct{}
	latency   time.Duration
	blackhole bool
	refusing  bool
	cut       int // client→server bytes still to forward before a reset; -1 when disarmed
	accepted  int
	started   bool
	closed    bool
	err       error // first failure to reopen or accept, see Err
}

// New returns a relay that will forward connections to target (host:port).
// Call Start to begin listening on 127.0.0.1:0.
func New(target string) *Relay {
	ctx, cancel := context.WithCancel(context.Background())
	return &Relay{
		target: target,
		dialer: net.Dialer{Timeout: dialTimeout},
		ctx:    ctx,
		cancel: cancel,
		links:  make(map[*link]struct{}),
		cut:    -1,
	}
}

// Start listens on 127.0.0.1:0 and begins accepting connections.
func (r *Relay) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.started {
		return errors.New("faultnet: relay already started")
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("faultnet: cannot listen: %w", err)
	}
	r.started = true
	r.laddr = ln.Addr().(*net.TCPAddr)
	if r.refusing {
		// Refuse(true) came before Start: keep the port's number, not the port.
		_ = ln.Close()
		return nil
	}
	r.serve(ln)
	return nil
}

// Addr returns the address clients should dial, or "" before Start.
// It stays the same across Refuse.
func (r *Relay) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.laddr == nil {
		return ""
	}
	return r.laddr.String()
}

// Close stops listening, closes every connection and returns once every
// goroutine of the relay has exited. It returns the error Err reports.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.closed = true
	if r.ln != nil {
		_ = r.ln.Close()
		r.ln = nil
	}
	links := r.snapshot()
	err := r.err
	r.mu.Unlock()

	r.cancel()
	for _, l := range links {
		l.close(false)
	}
	r.wg.Wait()
	return err
}

// Err returns the first failure the relay could not report synchronously:
// reopening the listener when Refuse(false) ran, or an unexpected accept
// error. It is nil while the relay works as asked.
func (r *Relay) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// SetLatency delays data by d in each direction (so a round trip takes 2d
// longer). It applies to chunks read from now on; order is preserved.
func (r *Relay) SetLatency(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency = max(d, 0)
}

// ResetAll resets (TCP RST) both sides of every live connection.
func (r *Relay) ResetAll() {
	r.mu.Lock()
	links := r.snapshot()
	r.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
}

// Blackhole stops (on) or resumes (off) forwarding in both directions
// without closing anything. Data read meanwhile is discarded.
func (r *Relay) Blackhole(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blackhole = on
}

// Refuse makes new connections fail with "connection refused" while on, by
// closing the listener; existing connections are untouched. Turning it off
// listens again on the same address. If that port was taken in the meantime
// the relay stays refusing and Err (and Close) report why; calling
// Refuse(false) again retries (Err keeps reporting the first failure). Refuse before Start takes effect at Start.
func (r *Relay) Refuse(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refusing = on
	if !r.started || r.closed {
		return
	}
	if on {
		if r.ln != nil {
			_ = r.ln.Close()
			r.ln = nil
		}
		return
	}
	if r.ln != nil {
		return
	}
	ln, err := net.ListenTCP("tcp", r.laddr)
	if err != nil {
		r.setErr(fmt.Errorf("faultnet: cannot reopen %s after Refuse (port taken by another socket?): %w", r.laddr, err))
		return
	}
	r.serve(ln)
}

// CutAfter arms a cut: the next n client→server bytes (of whichever
// connection sends them) are forwarded, then that connection is reset on
// both sides. A negative n disarms it.
func (r *Relay) CutAfter(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = max(n, -1)
}

// Accepted returns how many connections the relay has accepted.
func (r *Relay) Accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted
}

// Live returns how many accepted connections are not yet torn down.
func (r *Relay) Live() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.links)
}

// serve starts an accept loop on ln. r.mu must be held.
func (r *Relay) serve(ln *net.TCPListener) {
	r.ln = ln
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.acceptLoop(ln)
	}()
}

func (r *Relay) acceptLoop(ln *net.TCPListener) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) { // closed by Refuse or Close is expected
				r.mu.Lock()
				r.setErr(fmt.Errorf("faultnet: cannot accept: %w", err))
				r.mu.Unlock()
			}
			return
		}
		l := newLink(r, c)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			_ = c.Close()
			return
		}
		r.accepted++
		r.links[l] = struct{}{}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			l.run()
			r.mu.Lock()
			delete(r.links, l)
			r.mu.Unlock()
		}()
		r.mu.Unlock()
	}
}

// admit decides what happens to b, just read in one direction: it returns
// the chunk to deliver, or false if the chunk is discarded.
func (r *Relay) admit(b []byte, up bool) (chunk, bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blackhole {
		return chunk{}, false
	}
	c := chunk{due: now.Add(r.latency)}
	if up && r.cut >= 0 {
		if len(b) >= r.cut {
			b, c.reset, r.cut = b[:r.cut], true, -1
		} else {
			r.cut -= len(b)
		}
	}
	c.data = append([]byte(nil), b...)
	return c, true
}

func (r *Relay) blackholed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blackhole
}

// snapshot returns the live links. r.mu must be held.
func (r *Relay) snapshot() []*link {
	links := make([]*link, 0, len(r.links))
	for l := range r.links {
		links = append(links, l)
	}
	return links
}

// setErr keeps the first error. r.mu must be held.
func (r *Relay) setErr(err error) {
	if r.err == nil {
		r.err = err
	}
}
