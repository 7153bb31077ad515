package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"regagent/internal/client"
	"regagent/internal/config"
	"regagent/internal/hostip"
	"regagent/internal/maintpage"
	"regagent/internal/reconcile"
	"regagent/internal/redact"
	"regagent/internal/status"
)

// Options configure an Agent. Only ConfigPath is required.
type Options struct {
	ConfigPath string
	// ProxyAddr, when set, overrides the file's proxy.address.
	ProxyAddr string
	// StatusAddr, when set, overrides the file's status.address.
	StatusAddr string
	// StateFile, when set, overrides the file's state.file ("off"
	// disables the state file).
	StateFile string
	// Lookup resolves ${VAR} in the file; default os.LookupEnv. SELF_IP is
	// answered by the agent itself (see SelfIPRule): Lookup's SELF_IP,
	// when set, is taken as an explicit override.
	Lookup func(string) (string, bool)
	// SelfIP, when set, is what ${SELF_IP} renders to (--self-ip), over
	// Lookup's SELF_IP and over detection.
	SelfIP string
	// Hostname is the default service instance; default os.Hostname.
	Hostname string
	// Logger receives one record per event, with secrets masked; default
	// discards.
	Logger *slog.Logger
	// OnEvent, when set, also receives every event (after logging), on the
	// goroutine that reported it. The demo uses it.
	OnEvent func(Event)
	// Dial is passed to the client (tests, demo).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// IPSource reports this host's address (${SELF_IP}), replacing
	// detection, service.ip_cidr included (tests, benchmarks); default the
	// first non-loopback IPv4 address of InterfaceAddrs within the file's
	// service.ip_cidr.
	IPSource func() (net.IP, error)
	// Now is the clock maintenance windows are compared with (tests);
	// default time.Now.
	Now func() time.Time
	// InterfaceAddrs lists the host's interface addresses detection picks
	// from; default net.InterfaceAddrs.
	InterfaceAddrs hostip.Addrs
	// WaitForValidConfig makes a file invalid at start a wait rather than
	// an error: every content is reported until a valid one is applied
	// (the demo).
	WaitForValidConfig bool
	// IPCheckInterval is how often the address is checked besides every
	// connect; default 30s, negative: only at connects.
	IPCheckInterval time.Duration
	// ShutdownTimeout bounds the whole shutdown; default 10s plus the
	// drain timeout in drain mode.
	ShutdownTimeout time.Duration
	// Registry receives the agent's metrics; default a new registry.
	Registry *prometheus.Registry
}

// Agent is the daemon. Create it with New and call Run once.
type Agent struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	reload  chan struct{}
	red     atomic.Pointer[redact.Redactor]

	mu          sync.Mutex
	cfg         *config.Config // last good config
	selfIP      string
	invalid     error  // errors of the file's current content, nil when valid
	invalidHash string // hash of that content
	cl          *client.Client
	ipw         *hostip.Watcher
	rec         *reconcile.Reconciler
	secrets     []string          // of the config in force
	page        *maintpage.Server // nil unless maintenance.serve
	pageAddr    string            // the address page was asked to bind
	names       routeNames
	waiting     string // why Run has not connected yet, while it waits
	rule        SelfIPRule
}

// New checks opts and returns an Agent; it starts nothing.
func New(opts Options) (*Agent, error) {
	if opts.ConfigPath == "" {
		return nil, errors.New("cannot create agent: no config path")
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	if opts.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("cannot create agent: %w", err)
		}
		opts.Hostname = h
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	a := &Agent{opts: opts, reload: make(chan struct{}, 1)}
	a.rule = SelfIPRule{Override: opts.SelfIP, Detect: a.detect}
	if a.rule.Override == "" {
		if v, ok := opts.Lookup("SELF_IP"); ok {
			a.rule.Override = strings.TrimSpace(v)
		}
	}
	a.red.Store(redact.New(nil))
	// Every record passes the redaction, the client's and the
	// reconciler's included: they get this logger or report through emit.
	a.log = slog.New(redact.NewHandler(opts.Logger.Handler(), a.redactor))
	a.metrics = newMetrics(opts.Registry, a)
	return a, nil
}

// Reload asks the agent to read the file again now (SIGHUP). It never blocks.
func (a *Agent) Reload() {
	a.log.Info("reload requested", "file", a.opts.ConfigPath)
	select {
	case a.reload <- struct{}{}:
	default:
	}
}

// parseOptions returns the options every parse of the file uses: SELF_IP
// is read at each parse, so a re-parse after an address change renders the
// file for the new address.
func (a *Agent) parseOptions() config.ParseOptions {
	opts := a.baseParseOptions()
	opts.Lookup = func(name string) (string, bool) {
		if name == "SELF_IP" {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.selfIP, a.selfIP != ""
		}
		return a.opts.Lookup(name)
	}
	return opts
}

// baseParseOptions are parseOptions without SELF_IP, which SelfIPRule
// answers at start.
func (a *Agent) baseParseOptions() config.ParseOptions {
	return config.ParseOptions{
		Filename: a.opts.ConfigPath,
		Hostname: a.opts.Hostname,
		Lookup:   a.opts.Lookup,
	}
}

// Run loads the file (an invalid file at start-up is returned as
// config.Errors and nothing is sent, unless Options.WaitForValidConfig),
// waits for an address when the file uses ${SELF_IP} and the host has
// none for it, connects, reconciles and follows the file until ctx ends;
// then it shuts down as the file says and returns after every goroutine
// has ended.
func (a *Agent) Run(ctx context.Context) (err error) {
	cfg, srv, err := a.start(ctx)
	defer func() {
		if cerr := closeStatus(srv); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err != nil || cfg == nil {
		return err
	}
	a.setSecrets(cfg)
	a.metrics.reloads.WithLabelValues("valid").Inc()
	a.report(ConfigValidated{File: a.opts.ConfigPath, Hash: cfg.Hash, Routes: len(cfg.Routes), Warnings: warningTexts(cfg)})

	cl, err := client.New(a.clientOptions(cfg))
	if err != nil {
		return err
	}
	inherited, remember := a.openState(cfg)
	rec := reconcile.New(cl, reconcile.Options{
		Now:       a.opts.Now,
		OnReport:  func(r reconcile.Report) { a.report(r) },
		Logger:    a.reconcilerLogger(),
		Service:   cfg.Service.Name,
		Instance:  cfg.Service.Instance,
		Inherited: inherited,
		Remember:  remember,
	})
	ipw := hostip.NewWatcher(a.ipSource(cfg.Service.IPCIDR))
	a.mu.Lock()
	a.cfg, a.cl, a.rec, a.ipw = cfg, cl, rec, ipw
	selfIP := a.selfIP
	a.mu.Unlock()
	rec.SetDesired(cfg, selfIP)

	// The page is served before the first registration: the proxy's
	// check of it then succeeds at its first try (PROTOCOL.md §5).
	if err := a.syncPage(cfg); err != nil {
		return err
	}
	defer a.stopPage()

	// The client outlives ctx: shutdown still needs the connection.
	clientCtx, stopClient := context.WithCancel(context.Background())
	defer stopClient()
	clientDone := make(chan struct{})
	var clientWG, wg sync.WaitGroup
	clientWG.Add(1)
	go func() {
		defer clientWG.Done()
		defer close(clientDone)
		if err := cl.Run(clientCtx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("client stopped", "err", err)
		}
	}()
	if every := a.ipCheckInterval(); every > 0 {
		clientWG.Add(1)
		go func() {
			defer clientWG.Done()
			hostip.Run(clientCtx, every, a.checkIP)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = rec.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.watch(ctx, cfg)
	}()

	<-ctx.Done()
	wg.Wait()
	err = a.shutdown(cl, stopClient, clientDone)
	clientWG.Wait()
	return err
}

// closeStatus stops the status endpoint, if it was started.
func closeStatus(srv *status.Server) error {
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Close(ctx)
}

// reconcilerLogger is the reconciler's logger: what it logs are LOG events.
func (a *Agent) reconcilerLogger() *slog.Logger {
	return slog.New(logEvents{a: a, inner: a.log.Handler()})
}

// clientEvent takes the client's events, in order, on its dispatcher
// goroutine: a (re)connection marks a reconcile pass due, and every event
// is reported.
func (a *Agent) clientEvent(ev client.Event) {
	switch ev.(type) {
	case client.Connected, client.Reconnected:
		// A new connection may come with a new address: look before the
		// pass it triggers, as the address is what the session serves.
		a.checkIP()
		// A new session gives every route a new id (§2, §8).
		a.mu.Lock()
		a.names.reset()
		a.mu.Unlock()
	}
	a.mu.Lock()
	rec := a.rec
	a.mu.Unlock()
	if rec != nil {
		rec.HandleEvent(ev)
	}
	a.report(ev)
}

func (a *Agent) startStatus(cfg *config.Config) (*status.Server, error) {
	addr := a.opts.StatusAddr
	if addr == "" {
		addr = cfg.Status.Address
	}
	if addr == "" {
		return nil, nil
	}
	srv, err := status.Listen(addr, status.Handler(a, a.opts.Registry), a.log, status.DefaultLimits())
	if err != nil {
		return nil, err
	}
	a.log.Info("status endpoint listening", "address", srv.Addr())
	return srv, nil
}

// clientOptions maps the file's proxy and service blocks to the client.
func (a *Agent) clientOptions(cfg *config.Config) client.Options {
	addr := cfg.Proxy.Address
	if a.opts.ProxyAddr != "" {
		addr = a.opts.ProxyAddr
	}
	return client.Options{
		Addr:               addr,
		Service:            cfg.Service.Name,
		Instance:           cfg.Service.Instance,
		MaintenancePort:    cfg.Service.MaintenancePort,
		Metadata:           cfg.Service.Metadata,
		DialTimeout:        cfg.Proxy.DialTimeout.D(),
		KeepaliveInterval:  cfg.Proxy.KeepaliveInterval.D(),
		KeepaliveTimeout:   cfg.Proxy.KeepaliveTimeout.D(),
		MaintenanceTimeout: cfg.Proxy.MaintenanceTimeout.D(),
		Backoff: client.Backoff{
			Initial:    cfg.Proxy.Backoff.Initial.D(),
			Max:        cfg.Proxy.Backoff.Max.D(),
			Multiplier: cfg.Proxy.Backoff.Multiplier,
			// Jitter keeps agents restarted together from reconnecting in
			// lock step.
			Jitter: client.DefaultBackoff().Jitter,
		},
		Dial:        a.opts.Dial,
		Logger:      a.log,
		OnRoundTrip: a.metrics.observeRoundTrip,
		OnEvent:     a.clientEvent,
	}
}
