package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"regagent/internal/client"
	"regagent/internal/registrysim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a real registrysim server, a real client connected to it over
// TCP, and a reconciler on that client.
type harness struct {
	tb  tester
	srv *registrysim.Server
	cl  *client.Client
	r   *Reconciler
	ctx context.Context

	drift time.Duration // given with every desired state
	// kill ends the client without CLIENT_SHUTDOWN, as a killed process
	// would: the proxy keeps serving its routes (§7).
	kill func()

	mu      sync.Mutex
	reports []Report
	logs    []string // "LEVEL message" of every record the reconciler logged
}

// tester is what the harness needs of *testing.T and *rapid.T.
type tester interface {
	Fatalf(format string, args ...any)
	Cleanup(func())
}

func helper(tb tester) {
	if h, ok := tb.(interface{ Helper() }); ok {
		h.Helper()
	}
}

func newHarness(tb tester) *harness {
	helper(tb)
	return newHarnessWith(tb, nil)
}

// newHarnessSeeded is newHarness with the server's apply order drawn from
// seed.
func newHarnessSeeded(tb tester, seed int64) *harness {
	helper(tb)
	return newHarnessSeed(tb, nil, seed)
}

// newHarnessWith is newHarness with the client's config adjusted by mutate.
func newHarnessWith(tb tester, mutate func(*client.Options)) *harness {
	helper(tb)
	return newHarnessSeed(tb, mutate, 1)
}

func newHarnessSeed(tb tester, mutate func(*client.Options), seed int64) *harness {
	helper(tb)
	// The real server adds the routes of one apply in random order (§9):
	// nothing the planner does may depend on that order.
	srv := registrysim.New(registrysim.Options{MaintTimeout: 500 * time.Millisecond, MaintInterval: 5 * time.Millisecond,
		ShuffleApply: true, Seed: seed})
	if err := srv.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	return attachHarness(tb, srv, mutate, Options{})
}

// attachHarness is a harness on a running server: one agent process, with
// its client configured by mutate and its reconciler by opts. Its client
// stops with the test, or earlier through kill.
func attachHarness(tb tester, srv *registrysim.Server, mutate func(*client.Options), opts Options) *harness {
	helper(tb)
	h := &harness{tb: tb, srv: srv}
	cfg := client.Options{
		Addr: srv.Addr(), Service: "svc", Instance: "i1",
		KeepaliveInterval:  -1,
		MaintenanceTimeout: time.Second,
		Backoff:            client.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 2},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	// Events flow once Run starts, after h.r is set.
	cfg.OnEvent = func(ev client.Event) { h.r.HandleEvent(ev) }
	cl, err := client.New(cfg)
	if err != nil {
		tb.Fatalf("client.New: %v", err)
	}
	h.cl = cl
	opts.OnReport = h.record
	opts.Logger = slog.New(logRecorder{h})
	opts.Backoff = client.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2}
	h.r = New(cl, opts)
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.Run(ctx)
	}()
	h.kill = func() {
		cancel()
		<-done
	}
	tb.Cleanup(h.kill)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := cl.WaitConnected(wctx); err != nil {
		tb.Fatalf("WaitConnected: %v", err)
	}
	return h
}

func (h *harness) record(rep Report) {
	h.mu.Lock()
	h.reports = append(h.reports, rep)
	h.mu.Unlock()
}

// stage sends what build adds to a batch behind the reconciler's back, in
// one write; the error is the first transport failure or ERROR reply.
func stage(ctx context.Context, cl *client.Client, build func(*client.Batch)) error {
	var b client.Batch
	build(&b)
	res, err := cl.Send(ctx, &b)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// maintenanceStatus is MAINT_STATUS: the targets the server lists in
// maintenance for the session.
func maintenanceStatus(ctx context.Context, cl *client.Client) ([]string, error) {
	r, err := cl.Do(ctx, client.Command{Name: "MAINT_STATUS"})
	if err != nil {
		return nil, err
	}
	var v struct {
		InMaintenance []string `json:"in_maintenance"`
	}
	if r.Kind != "MAINT_STATUS_OK" {
		return nil, fmt.Errorf("MAINT_STATUS answered %s", r.Kind)
	}
	if err := json.Unmarshal([]byte(r.Payload), &v); err != nil {
		return nil, err
	}
	return v.InMaintenance, nil
}

// logRecorder keeps what the reconciler logs in its harness.
type logRecorder struct{ h *harness }

func (l logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.h.mu.Lock()
	l.h.logs = append(l.h.logs, r.Level.String()+" "+r.Message)
	l.h.mu.Unlock()
	return nil
}

func (l logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecorder) WithGroup(string) slog.Handler      { return l }

// logged returns the records logged so far whose "LEVEL message" starts
// with prefix.
func (h *harness) logged(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.logs {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// reportsOf returns the reports of type T so far.
func reportsOf[T Report](h *harness) []T {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []T
	for _, rep := range h.reports {
		if r, ok := rep.(T); ok {
			out = append(out, r)
		}
	}
	return out
}

// sync sets d as desired and runs passes until one succeeds without work
// left, failing on an error.
func (h *harness) sync(d Desired) {
	helper(h.tb)
	if err := h.try(d); err != nil {
		h.tb.Fatalf("reconcile: %v", err)
	}
}

func (h *harness) try(d Desired) error {
	h.r.setDesired(d, h.drift, 0)
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	_, err := h.r.Reconcile(ctx)
	return err
}

// waitGeneration waits until the client has registered a session newer
// than gen.
func (h *harness) waitGeneration(gen uint64) {
	helper(h.tb)
	deadline := time.Now().Add(5 * time.Second)
	for h.cl.Generation() <= gen || h.cl.State() != client.StateConnected {
		if time.Now().After(deadline) {
			h.tb.Fatalf("no new session after generation %d", gen)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// check asserts that the proxy serves exactly d for the service: every
// domain+path and a sub-path of it reaches the desired backend with the
// desired headers and options (or the maintenance page), health checks are
// registered with a correct URL, and no proxy route of the service routes
// anything else (§4, §5, §7).
func (h *harness) check(d Desired, now time.Time) {
	helper(h.tb)
	maint := desiredMaintBackends(d, now)
	for _, r := range d.Routes {
		for _, dom := range r.Domains {
			sub := r.Path + "x/y"
			if !strings.HasSuffix(r.Path, "/") {
				sub = r.Path + "/x/y"
			}
			for _, p := range []string{r.Path, sub} {
				got := h.srv.Resolve(dom, p)
				want := registrysim.TargetBackend
				if _, ok := maint[r.Backend]; ok {
					want = registrysim.TargetMaintenance
				}
				if got.Kind != want || got.Backend != r.Backend {
					h.tb.Fatalf("Resolve(%s, %s) = %v %s, want %v %s (route %s)\nproxy: %+v", dom, p, got.Kind, got.Backend, want, r.Backend, r.Name, h.srv.ProxyRoutes())
				}
				if want == registrysim.TargetMaintenance && got.Page != maint[r.Backend] {
					h.tb.Fatalf("Resolve(%s, %s) page %q, want %q", dom, p, got.Page, maint[r.Backend])
				}
				if !mapsEq(got.Headers, d.Headers) || !mapsEq(got.Options, d.Options) {
					h.tb.Fatalf("Resolve(%s, %s) headers %v options %v, want %v %v", dom, p, got.Headers, got.Options, d.Headers, d.Options)
				}
			}
		}
	}
	for _, pr := range h.srv.ProxyRoutes() {
		if pr.Service != "svc" {
			continue
		}
		i := slices.IndexFunc(d.Routes, func(r RouteSpec) bool {
			return sameRouting(r, RouteSpec{Domains: normDomains(pr.Domains), Path: pr.Path, Backend: pr.Backend})
		})
		if i < 0 {
			h.tb.Fatalf("proxy route %s %v%s -> %s is not desired", pr.ID, pr.Domains, pr.Path, pr.Backend)
		}
		r := d.Routes[i]
		if pr.Session == h.cl.SessionID() && r.Health != nil {
			if want := strings.TrimSuffix(r.Backend, "/") + "/" + strings.TrimPrefix(r.Health.Path, "/"); pr.HealthURL != want {
				h.tb.Fatalf("route %s health URL %q, want %q", r.Name, pr.HealthURL, want)
			}
		}
	}
	for _, b := range h.srv.InMaintenance() {
		if slices.ContainsFunc(d.Routes, func(r RouteSpec) bool { return r.Backend == b }) {
			if _, ok := maint[b]; !ok {
				h.tb.Fatalf("backend %s in maintenance, not desired", b)
			}
		}
	}
}

// desiredMaintBackends is what check expects in maintenance, worked out
// from the targets as written (by name, path or domain) rather than with
// what FromConfig resolved, so that the check does not repeat the code
// it checks.
func desiredMaintBackends(d Desired, now time.Time) map[string]string {
	out := map[string]string{}
	i := slices.IndexFunc(d.Maintenance.Windows, func(w WindowSpec) bool {
		return (w.From == nil || !now.Before(*w.From)) && (w.Until == nil || now.Before(*w.Until))
	})
	if i < 0 {
		return out
	}
	m := d.Maintenance.Windows[i]
	names := func(r RouteSpec, t string) bool { return t == r.Name || t == r.Path || slices.Contains(r.Domains, t) }
	for _, r := range d.Routes {
		if len(m.Targets) == 0 || slices.ContainsFunc(m.Targets, func(t string) bool { return names(r, t) }) {
			out[r.Backend] = d.Maintenance.Page
		}
	}
	return out
}

func mapsEq(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
