package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"regagent/internal/config"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The three kinds of secret: a URL password, values from ${VAR} (headers
// with and without a sensitive name, and an option in the invalid edit),
// and a header with a sensitive name.
const (
	urlPassword = "pa55word-xyz"
	apiToken    = "tok-0123456789"
	tenant      = "tenant-secret-77"
	bearer      = "Bearer abcdefgh"
)

var secretEnv = map[string]string{"API_TOKEN": apiToken, "TENANT": tenant}

const secretRoutes = `routes:
  - name: web
    domains: [a.example.com]
    path: /
    backend: http://user:` + urlPassword + `@b:3000
`

const secretHeaders = `headers:
  Authorization: "` + bearer + `"
  X-Api-Key: ${API_TOKEN}
  X-Tenant: ${TENANT}
`

func secretLookup(name string) (string, bool) {
	v, ok := secretEnv[name]
	return v, ok
}

// parseSecret parses body as the agent would, with the interpolated
// values listed as the config's secrets.
func parseSecret(t *testing.T, body string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(body), config.ParseOptions{Lookup: secretLookup, Hostname: "host1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secrets = []string{apiToken, tenant}
	return cfg
}

func assertMasked(t *testing.T, where, text string, wantMasks ...string) {
	t.Helper()
	for _, s := range []string{urlPassword, apiToken, tenant, bearer} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows %q", where, s)
		}
	}
	for _, m := range wantMasks {
		if !strings.Contains(text, m) {
			t.Errorf("%s lacks %q", where, m)
		}
	}
}

// TestAgentMasksSecrets runs a config with every kind of secret, then an
// invalid edit whose errors quote them, and reads the agent's log, /status
// and /v1/state over HTTP.
func TestAgentMasksSecrets(t *testing.T) {
	f := newFixture(t, header+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000"))
	var logs syncBuffer
	opts := f.options()
	opts.Lookup = secretLookup
	opts.StatusAddr = "127.0.0.1:0"
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.start(opts)
	f.await(EventConfigApplied)

	// The file's content as the watcher would deliver it.
	cfg := parseSecret(t, header+secretRoutes+secretHeaders)
	f.agent.update(config.Update{Config: cfg, Hash: cfg.Hash, Routes: len(cfg.Routes)})
	f.await(EventConfigApplied)
	// An invalid edit: its errors quote the values (the last good
	// config's secrets still mask them).
	f.write(header + "options:\n  timeout: ${API_TOKEN}\n" + secretRoutes +
		"  - name: bad\n    domains: [b.example.com]\n    path: /b\n    priority: ${TENANT}\n" +
		"    backend: http://user:" + urlPassword + "@b:3000/%zz\n" + secretHeaders)
	f.await(EventConfigInvalid)

	_, body := get(t, "http://"+f.statusAddr()+"/status")
	assertMasked(t, "/status", body, "http://user:xxxxx@b:3000", `"X-Api-Key": "xxxxx"`, `"Authorization": "xxxxx"`,
		`"X-Tenant": "xxxxx"`, "Authorization: xxxxx")
	if !strings.Contains(body, `"errors"`) {
		t.Errorf("/status has no errors: %s", body)
	}
	// The state document for programs is masked the same way.
	_, body = get(t, "http://"+f.statusAddr()+"/v1/state")
	assertMasked(t, "/v1/state", body, "http://user:xxxxx@b:3000", `"X-Api-Key": "xxxxx"`, `"Authorization": "xxxxx"`,
		`"X-Tenant": "xxxxx"`, "Authorization: xxxxx", "http://user:xxxxx@b:3000/%zz")
	if !strings.Contains(body, `"line": `) {
		t.Errorf("/v1/state has no errors with positions: %s", body)
	}
	f.stop()
	assertMasked(t, "the log", logs.String(), "http://user:xxxxx@b:3000/%zz", "CONFIG_INVALID")
}
