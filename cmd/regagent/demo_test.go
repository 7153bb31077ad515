package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutines, with a
// signal on every write.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// await waits until the buffer holds want.
func (s *syncBuffer) await(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		select {
		case <-s.changed:
		case <-timeout:
			t.Fatalf("no %q in:\n%s", want, s.String())
		}
	}
}

// TestDemo runs the demo in-process: the simulated proxy's table is printed
// after the first apply and after an edit, SIGHUP reloads, and cancelling
// (Ctrl-C) ends it cleanly.
func TestDemo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	write := func(backend string) {
		body := "proxy: {address: \"registry:9000\"}\nservice: {name: shop, instance: demo}\nreload: {debounce: 10ms}\n" +
			"routes:\n  - {name: web, domains: [shop.example.com], path: /, backend: \"" + backend + "\"}\n"
		if err := os.WriteFile(path+".tmp", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write("http://web-1:3000")
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	env := &environment{stdout: stdout, stderr: stderr, getenv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- exitCode(run(ctx, []string{"demo", "-c", path, "--log-format", "json"}, env), env.stderr)
	}()

	stdout.await(t, "http://web-1:3000  live")
	write("http://web-2:3000")
	stdout.await(t, "http://web-2:3000  live")

	// SIGHUP is handled once the table is out (the handler is installed
	// before the agent runs); without it the signal would end the process.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.await(t, "reload requested")

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("demo exit %d after cancel\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not end after cancel")
	}

	// The demo keeps its state in a directory of its own, removed at exit:
	// no warning about a state file, nothing left behind.
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "state file") && strings.Contains(l, `"level":"WARN"`) {
			t.Errorf("the demo warned about its state file: %s", l)
		}
	}
	if m := regexp.MustCompile(`"state_file":"([^"]+)"`).FindStringSubmatch(stderr.String()); m == nil {
		t.Errorf("the demo did not log its state file:\n%s", stderr.String())
	} else if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
		t.Errorf("the demo left its state directory %s (stat: %v)", filepath.Dir(m[1]), err)
	}
}

// startDemo runs the demo in-process with args, variables from vars, and
// returns its output and a stop that cancels it (Ctrl-C) and returns its
// exit code.
func startDemo(t *testing.T, vars map[string]string, args ...string) (stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	stdout, stderr = newSyncBuffer(), newSyncBuffer()
	env := &environment{stdout: stdout, stderr: stderr, getenv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- exitCode(run(ctx, append([]string{"demo"}, args...), env), env.stderr) }()
	stopped := false
	stop = func() int {
		t.Helper()
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("demo did not end after cancel")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return stdout, stderr, stop
}

// renameInto replaces path with body the way editors save.
func renameInto(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// A file invalid at start does not end the demo: each error is printed on
// its own line exactly as validate prints it (not one escaped log field),
// and the file is applied once it is fixed.
func TestDemoWaitsForAValidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	good := "proxy: {address: \"registry:9000\"}\nservice: {name: shop, instance: demo}\nreload: {debounce: 10ms}\n" +
		"routes:\n  - {name: web, domains: [shop.example.com], path: /, backend: \"http://web-1:3000\"}\n"
	bad := strings.Replace(strings.Replace(good, "service:", "servise: {}\nservice:", 1), "http://web-1:3000", "web-1:3000", 1)
	renameInto(t, path, bad)

	var want syncBuffer
	venv := &environment{stdout: &want, stderr: io.Discard, getenv: func(string) (string, bool) { return "", false }}
	if code := exitCode(run(context.Background(), []string{"validate", path}, venv), venv.stderr); code != exitError {
		t.Fatalf("validate exit %d for the invalid file", code)
	}
	lines := strings.Split(strings.TrimSpace(want.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("validate printed %q, want 2 errors", lines)
	}

	stdout, stderr, stop := startDemo(t, nil, "-c", path, "--log-format", "text")
	stderr.await(t, "nothing is sent until it is fixed")
	for _, l := range lines {
		stderr.await(t, "\n"+l+"\n")
	}
	if strings.Contains(stderr.String(), "errors=") {
		t.Errorf("the errors are a log field:\n%s", stderr.String())
	}

	renameInto(t, path, good)
	stdout.await(t, "http://web-1:3000  live")
	if code := stop(); code != exitOK {
		t.Fatalf("demo exit %d\n%s", code, stderr.String())
	}
}

// Without -c the demo runs the built-in example from a copy it names, and
// logs speak of routes by the file's names. Ctrl-C removes the routes, says
// so and prints the table as left; an edited copy is kept, and said to be.
func TestDemoBuiltInExample(t *testing.T) {
	stdout, stderr, stop := startDemo(t, map[string]string{"SELF_IP": "10.1.2.3"}, "--log-format", "json")
	stdout.await(t, "Stop with Ctrl-C.")
	m := regexp.MustCompile(`copied to (\S+)\.\n`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("the demo did not say where its file is:\n%s", stdout.String())
	}
	path := m[1]
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
	stdout.await(t, "--- proxy routing table (3 routes) ---")
	row := regexp.MustCompile(`(?m)^web\s+r\d+\s+shop\.example\.com\s+/\s+http://10\.1\.2\.3:3000\s+live$`)
	if !row.MatchString(stdout.String()) {
		t.Fatalf("no row for route web by name:\n%s", stdout.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := os.ReadFile("../../examples/registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, repo) {
		t.Fatal("the demo's copy differs from examples/registry.yaml")
	}

	renameInto(t, path, strings.Replace(string(b), "enabled: false", "enabled: true", 1))
	stderr.await(t, `"msg":"MAINT_ENTER api,live"`)
	stdout.await(t, "maintenance")

	if code := stop(); code != exitOK {
		t.Fatalf("demo exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	final := out[strings.LastIndex(out, "The demo has stopped"):]
	if !strings.Contains(final, "(0 routes)") || !strings.Contains(final, "(no routes)") {
		t.Errorf("the final table is not the empty proxy:\n%s", final)
	}
	if !strings.Contains(out, "Your edited file stays at "+path+".\n") {
		t.Errorf("no word of the edited file:\n%s", out)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the edited file is gone: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"deregistered: the proxy has removed this service's routes"`) {
		t.Errorf("the shutdown did not say what it did:\n%s", logs)
	}
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"event":"DISCONNECTED"`) && strings.Contains(l, `"err"`) {
			t.Errorf("the shutdown's disconnection reads as an error: %s", l)
		}
	}
}

// An unedited copy of the example goes with the demo.
func TestDemoRemovesUneditedExample(t *testing.T) {
	stdout, _, stop := startDemo(t, map[string]string{"SELF_IP": "10.1.2.3"}, "--log-format", "json")
	stdout.await(t, "--- proxy routing table (3 routes) ---")
	m := regexp.MustCompile(`copied to (\S+)\.\n`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("the demo did not say where its file is:\n%s", stdout.String())
	}
	if code := stop(); code != exitOK {
		t.Fatalf("demo exit %d", code)
	}
	if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
		os.RemoveAll(filepath.Dir(m[1]))
		t.Errorf("the demo left its copy of the example (stat: %v)", err)
	}
}

// The table names each route as the file does and shows its id, a row per
// domain; regagent's temporary routes are counted, not listed.
func TestRenderTable(t *testing.T) {
	routes := []registrysim.ProxyRoute{
		{ID: "r4", Domains: []string{"shop.example.com", "www.shop.example.com"}, Path: "/", Backend: "http://10.0.0.1:3000"},
		{ID: "r7", Domains: []string{"maint-release-0123456789abcdef.regagent.invalid"}, Path: "/", Backend: "http://10.0.0.1:3001"},
		{ID: "r8", Domains: []string{"api.example.com"}, Path: "/v1", Backend: "http://10.0.0.1:3001", Disabled: true},
	}
	got := renderTable(routes, []string{"http://10.0.0.1:3001"}, map[string]string{"r4": "web"})
	want := `
--- proxy routing table (2 routes) ---
ROUTE  ID  HOST                  PATH  BACKEND               STATE
web    r4  shop.example.com      /     http://10.0.0.1:3000  live
web    r4  www.shop.example.com  /     http://10.0.0.1:3000  live
-      r8  api.example.com       /v1   http://10.0.0.1:3001  maintenance (session gone)
(+1 temporary route(s) of regagent's on *.regagent.invalid, not shown: they carry a backend's maintenance across a change)
`
	if got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}
