package status

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeSource struct {
	ready bool
	why   string
}

func (f *fakeSource) Ready() (bool, string) { return f.ready, f.why }
func (f *fakeSource) Snapshot() any         { return map[string]any{"ready": f.ready} }
func (f *fakeSource) State() any            { return map[string]any{"version": 1, "ready": f.ready} }

func serve(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHandler(t *testing.T) {
	src := &fakeSource{why: "not applied yet"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	h := Handler(src, reg)

	if code, _ := serve(t, h, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}
	if code, body := serve(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not applied yet") {
		t.Fatalf("/readyz not ready = %d %q", code, body)
	}
	src.ready = true
	if code, _ := serve(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz ready = %d", code)
	}
	if code, body := serve(t, h, "/status"); code != http.StatusOK || !strings.Contains(body, `"ready": true`) {
		t.Fatalf("/status = %d %q", code, body)
	}
	if code, body := serve(t, h, "/v1/state"); code != http.StatusOK || !strings.Contains(body, `"version": 1`) {
		t.Fatalf("/v1/state = %d %q", code, body)
	}
	if code, body := serve(t, h, "/metrics"); code != http.StatusOK || !strings.Contains(body, "x_total 0") {
		t.Fatalf("/metrics = %d %q", code, body)
	}
	if code, _ := serve(t, Handler(src, nil), "/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics without a gatherer = %d, want 404", code)
	}
}

func TestListenDefaultsToLoopbackAndWarnsOtherwise(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Listen(":0", Handler(&fakeSource{}, nil), logger, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %s, want 127.0.0.1", s.Addr())
	}
	if logs.Len() != 0 {
		t.Fatalf("warned for a loopback bind: %s", logs.String())
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	s, err = Listen("0.0.0.0:0", Handler(&fakeSource{}, nil), logger, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if !strings.Contains(logs.String(), "non-loopback") {
		t.Fatalf("no warning for 0.0.0.0: %q", logs.String())
	}
	for _, addr := range []string{"nonsense", "https://127.0.0.1:0"} {
		if _, err := Listen(addr, nil, logger, Limits{}); !errors.Is(err, ErrAddr) {
			t.Fatalf("Listen(%s) = %v, want ErrAddr", addr, err)
		}
	}
}

// TestListenForms: the endpoint listens on the forms its clients accept:
// the port alone means ":port", on loopback, and so does a URL.
func TestListenForms(t *testing.T) {
	for _, addr := range []string{"0", "http://127.0.0.1:0", "http://:0/"} {
		var logs bytes.Buffer
		s, err := Listen(addr, Handler(&fakeSource{}, nil), slog.New(slog.NewTextHandler(&logs, nil)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || logs.Len() != 0 {
			t.Errorf("Listen(%s): Addr = %s (log %q), want 127.0.0.1 without a warning", addr, s.Addr(), logs.String())
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateUnencodable: a document that cannot be encoded is a 500 with
// the reason, not a 200 with half a document.
func TestStateUnencodable(t *testing.T) {
	code, body := serve(t, Handler(&badSource{}, nil), "/v1/state")
	if code != http.StatusInternalServerError || !strings.Contains(body, "cannot encode") {
		t.Fatalf("/v1/state = %d %q", code, body)
	}
}

type badSource struct{ fakeSource }

func (*badSource) State() any { return map[string]any{"version": 1, "f": func() {}} }
