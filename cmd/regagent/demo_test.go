package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
