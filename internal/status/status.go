// Package status serves the agent's local HTTP endpoint: liveness, readiness,
// a JSON status page for people, a versioned state document for programs
// (`regagent status`, `regagent plan`) and Prometheus metrics. It knows
// nothing of what the agent does; it asks a Source.
package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"regagent/internal/httplimit"
)

// Source is what the endpoint reports on.
type Source interface {
	// Ready reports whether the current config is applied and the
	// connection is up, with a reason when it is not.
	Ready() (bool, string)
	// Snapshot returns the JSON-serialisable status page (/status).
	Snapshot() any
	// State returns the JSON-serialisable versioned state document
	// (/v1/state), whose field names are a stable interface.
	State() any
}

// Handler returns the endpoint's routes. gatherer may be nil (no /metrics).
func Handler(src Source, gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ok, why := src.Ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, truncate("not ready: "+why, MaxReadyBody-1))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, src.Snapshot())
	})
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, src.State())
	})
	if gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// writeJSON answers v, indented and with "<>&" as they are, for a person
// with curl (plans read "a -> b"). It is encoded before anything is
// written, so a failure is a clean 500, not a 200 with half a document.
func writeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "cannot encode the document: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// MaxReadyBody bounds the /readyz body: probes log it, and a reason naming
// thousands of routes would fill their logs.
const MaxReadyBody = 1024

// truncate cuts s to at most n bytes, on a UTF-8 boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	more := "... (truncated)"
	if n < len(more) {
		more = ""
	}
	cut := n - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// Limits bound what a client of the endpoint can hold. The endpoint has no
// authentication: without them, idle keep-alive connections and bodies
// never sent are held forever and exhaust the process's descriptors, which
// the config watcher and the registry connection need too.
type Limits = httplimit.Limits

// DefaultLimits suit probes, a scraper and a person with curl.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxConns:          64,
	}
}

// Server is a started status endpoint.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	wg   sync.WaitGroup
	err  error
	once sync.Once
}

// Listen binds addr and starts serving h within limits (zero fields take
// DefaultLimits). addr takes the forms a client of the endpoint does
// (BaseURL): an address without a host (":9090", "9090") binds to
// 127.0.0.1; a non-loopback bind is logged as a warning, since the endpoint
// has no authentication.
func Listen(addr string, h http.Handler, logger *slog.Logger, limits Limits) (*Server, error) {
	scheme, host, port, err := splitAddr(addr)
	if err == nil && scheme != "http" {
		err = fmt.Errorf("%w %q: the endpoint serves plain http", ErrAddr, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot use status address: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); (ip == nil && host != "localhost") || (ip != nil && !ip.IsLoopback()) {
		logger.Warn("status endpoint bound to a non-loopback address; it has no authentication", "address", addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen for status: %w", err)
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:        h,
		MaxHeaderBytes: 16 << 10, // a probe's header is a few hundred bytes
		// The server reports what it cannot serve (accept failures near the
		// descriptor limit): worth a warning.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
	limited := httplimit.Apply(s.srv, ln, limits.WithDefaults(DefaultLimits()))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting at most until ctx ends for requests in
// flight.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
		s.wg.Wait()
		if err == nil {
			err = s.err
		}
	})
	return err
}
