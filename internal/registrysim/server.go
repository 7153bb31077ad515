package registrysim

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Options configure a Server. Zero values take the real server's defaults.
type Options struct {
	Addr          string        // default "127.0.0.1:0"
	Grace         time.Duration // disconnect grace, default 5m (§7)
	MaintTimeout  time.Duration // page/backend check give-up time, default 60s (§5)
	MaintInterval time.Duration // between check tries, default 1s (§5)
	Checker       Checker       // default: every URL reachable at once (no HTTP)
	StopDelay     time.Duration // on Stop/Restart: how long connections stay open (PING answered) before close (§8)
	Logger        *slog.Logger  // optional, nil = discard

	// ShuffleApply adds the staged routes of one CONFIG_APPLY in random
	// order, as the real server does (it walks a Go map, §9). Off, they are
	// added in staging order, so tests stay deterministic.
	ShuffleApply bool
	// Seed seeds the simulator's randomness: the apply order (ShuffleApply),
	// the drain's rejections and the route MAINT_EXIT ALL checks. 0 = seeded
	// from the clock.
	Seed int64
	// Now is the clock of drains (§9); default time.Now.
	Now func() time.Time
}

// Errors returned by Start and SendRaw.
var (
	ErrClosed       = errors.New("registrysim: server closed")
	ErrRunning      = errors.New("registrysim: server already started")
	ErrNoSession    = errors.New("registrysim: no such session")       // SendRaw
	ErrNotConnected = errors.New("registrysim: session not connected") // SendRaw: session in grace
	ErrBadLine      = errors.New("registrysim: raw line contains CR or LF")
)

// Server is the simulated registry. One Server may be started, stopped and
// restarted many times; every start is a fresh "process" (an instance) with
// no sessions and route ids from r1 (§8).
type Server struct {
	opts     Options
	log      *slog.Logger
	rand     *rand.Rand // guarded by mu
	handlers map[string]handler

	life    sync.Mutex    // serialises Start/Stop/Restart/Close
	closing chan struct{} // closed by Close: interrupts a StopDelay
	once    sync.Once

	mu       sync.Mutex // guards everything below and all instance state
	addr     string
	cur      *instance
	closed   bool
	thaw     chan struct{} // non-nil while frozen; closed by Freeze(false)
	delay    time.Duration
	commands []string
}

// New returns a Server with opts completed by defaults. Call Start to listen.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Minute
	}
	if opts.MaintTimeout <= 0 {
		opts.MaintTimeout = 60 * time.Second
	}
	if opts.MaintInterval <= 0 {
		opts.MaintInterval = time.Second
	}
	if opts.Checker == nil {
		opts.Checker = alwaysReachable()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, closing: make(chan struct{}), rand: rand.New(rand.NewPCG(seed, seed>>1|1))}
	s.handlers = s.commandTable()
	return s
}

// Start listens (on Options.Addr the first time, on the same address after a
// Stop) and serves connections. Addr is valid once it returns.
func (s *Server) Start() error {
	s.life.Lock()
	defer s.life.Unlock()
	return s.start()
}

// Addr returns the listening address, "127.0.0.1:port".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop is SIGTERM (§8): it stops accepting, keeps connections open (answering
// as usual, PING included) for StopDelay, then closes them and forgets every
// session and route. The address is kept for a later Start or Restart.
func (s *Server) Stop() error {
	s.life.Lock()
	defer s.life.Unlock()
	return s.stop(s.opts.StopDelay)
}

// Restart is a process restart (§8): Stop, then Start on the same address.
// All sessions and routes are gone and route ids restart at r1.
func (s *Server) Restart() error {
	s.life.Lock()
	defer s.life.Unlock()
	if err := s.stop(s.opts.StopDelay); err != nil {
		return err
	}
	return s.start()
}

// Close stops the server for good, without StopDelay, and returns after every
// goroutine it started has exited.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.stop(0)
}

func (s *Server) start() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cur != nil {
		s.mu.Unlock()
		return ErrRunning
	}
	addr := s.addr
	if addr == "" {
		addr = s.opts.Addr
	}
	s.mu.Unlock()

	// The real server enables TCP keepalive at 30 s (§7).
	lc := net.ListenConfig{KeepAlive: 30 * time.Second}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	in := newInstance(ln)
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.cur = in
	s.mu.Unlock()
	s.log.Info("registrysim listening", "addr", ln.Addr().String())

	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		s.accept(in)
	}()
	return nil
}

func (s *Server) stop(delay time.Duration) error {
	s.mu.Lock()
	in := s.cur
	s.mu.Unlock()
	if in == nil {
		return nil
	}
	err := in.ln.Close()
	s.log.Info("registrysim stopping", "delay", delay)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.closing:
			t.Stop()
		}
	}
	s.mu.Lock()
	in.stopping = true
	s.cur = nil
	conns := in.connList()
	s.mu.Unlock()
	in.cancel()
	for _, c := range conns {
		c.close(false)
	}
	in.wg.Wait()
	s.log.Info("registrysim stopped")
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) accept(in *instance) {
	for {
		nc, err := in.ln.Accept()
		if err != nil {
			return
		}
		c := newConn(s, in, nc)
		s.mu.Lock()
		if in.stopping {
			s.mu.Unlock()
			nc.Close()
			return
		}
		in.conns[c] = struct{}{}
		s.mu.Unlock()
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			s.serve(c)
		}()
	}
}
