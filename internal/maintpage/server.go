package maintpage

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"regagent/internal/httplimit"
)

// Options configure a Server. Only Addr is required.
type Options struct {
	// Addr is the address to bind, host:port (":8081": every interface).
	Addr string
	// Limits bound the connections; zero fields take DefaultLimits.
	Limits Limits
	// Logger receives what the HTTP server cannot serve and a template
	// that fails on a request; default discards.
	Logger *slog.Logger
	// OnTemplate, when set, receives every TemplateEvent, on the goroutine
	// that loaded the file (Update's, or the file watcher's), never under
	// a lock of the Server.
	OnTemplate func(TemplateEvent)
	// Debounce is how long changes to the template file must pause before
	// it is read again; default 100ms. A burst that never pauses is read
	// every 10 periods.
	Debounce time.Duration
	// PollInterval is the period of a content check of the template file
	// that needs no file event; 0 disables it.
	PollInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Server serves the maintenance page. Create it with Listen; it serves from
// then on, independently of the application, until Close.
type Server struct {
	opts    Options
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	builtin *template.Template
	state   atomic.Pointer[state]
	serveWG sync.WaitGroup
	err     error // of Serve

	ctx    context.Context // ends at Close; the file watcher's parent
	cancel context.CancelFunc
	wg     sync.WaitGroup

	umu    sync.Mutex // serialises Update and Close
	closed bool

	mu        sync.Mutex // guards what loads of the file share
	page      Page
	file      string
	cur       *loaded // the file's content in force; nil: the built-in page
	lastKey   string  // hash, or error text, of the file's last load
	stopWatch func()  // ends the current file watcher and waits for it
}

// Listen binds opts.Addr and serves page until Close. It returns once the
// listener is bound: a check that comes after it finds the page.
func Listen(opts Options, page Page) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve the maintenance page: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, ln: ln, builtin: builtinTemplate()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:        s,
		MaxHeaderBytes: 16 << 10, // a browser's header is a few KiB
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	limited := httplimit.Apply(s.srv, ln, opts.Limits.WithDefaults(DefaultLimits()))
	s.Update(page) // in force before the first request
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		if err := s.srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Update replaces what the page says. A page File is read at once (a new
// file, or the same file read again: SIGHUP reaches it this way) and then
// watched; the outcome of each load that differs from the last goes to
// Options.OnTemplate.
func (s *Server) Update(p Page) {
	s.umu.Lock()
	defer s.umu.Unlock()
	if s.closed {
		return
	}
	if p.Path == "" {
		p.Path = "/"
	}
	s.mu.Lock()
	s.page = p
	changed := p.File != s.file
	var stop func()
	if changed {
		s.file, s.cur, s.lastKey = p.File, nil, ""
		stop, s.stopWatch = s.stopWatch, nil
	}
	s.installLocked()
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	if p.File == "" {
		return
	}
	s.reload(p.File)
	if changed {
		s.startWatch(p.File)
	}
}

// Close stops the file watcher and the server, waiting at most until ctx
// ends for requests in flight.
func (s *Server) Close(ctx context.Context) error {
	s.umu.Lock()
	defer s.umu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	s.wg.Wait()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	s.serveWG.Wait()
	if err == nil {
		err = s.err
	}
	return err
}

// reload loads file if it is still the page's, and puts a new content in
// force; an unchanged outcome is not reported again.
func (s *Server) reload(file string) {
	s.mu.Lock()
	if file != s.file {
		s.mu.Unlock()
		return
	}
	l, hash, err := loadTemplate(file, s.page, s.opts.Now())
	key := hash
	if err != nil {
		key = "error: " + err.Error()
	}
	if key == s.lastKey {
		s.mu.Unlock()
		return
	}
	s.lastKey = key
	if err == nil {
		s.cur = l
		s.installLocked()
	}
	s.mu.Unlock()
	if s.opts.OnTemplate != nil {
		s.opts.OnTemplate(TemplateEvent{File: file, Hash: hash, Err: err})
	}
}

// installLocked puts the page and template in force for the next request.
func (s *Server) installLocked() {
	st := &state{page: s.page, tmpl: s.builtin, builtin: true}
	if s.cur != nil {
		st.tmpl, st.builtin = s.cur.tmpl, false
	}
	s.state.Store(st)
}

// state is what requests are answered from: replaced whole on a change,
// so that a request sees one page and one template.
type state struct {
	page    Page
	tmpl    *template.Template
	builtin bool

	mu       sync.Mutex // one render at a time; the others wait for it
	cacheKey string     // the fields of Data that time changes, for cached
	cached   []byte
}
