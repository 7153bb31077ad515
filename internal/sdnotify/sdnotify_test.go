package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// listen opens the manager's end: a datagram socket at a path in a new
// temporary directory (short, unlike t.TempDir: a socket path has at most
// 107 bytes).
func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// receive returns the next datagram, waiting for it at most a generous
// bound (a failure, not a measurement).
func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

// queued returns a datagram already waiting, or "" when there is none.
func queued(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		socket  string
		wantNil bool
		wantErr bool
	}{
		{"", true, false},
		{"/run/systemd/notify", false, false},
		{"@/org/freedesktop/systemd1/notify/1", false, false},
		{"run/notify", true, true},
		{"vsock:2:1234", true, true},
	} {
		n, err := New(tc.socket)
		if (n == nil) != tc.wantNil || (err != nil) != tc.wantErr {
			t.Errorf("New(%q) = %v, %v; want nil=%v, error=%v", tc.socket, n, err, tc.wantNil, tc.wantErr)
		}
		if tc.wantErr && !errors.Is(err, ErrSocket) {
			t.Errorf("New(%q): error %v is not ErrSocket", tc.socket, err)
		}
	}
}

func TestNotify(t *testing.T) {
	c, path := listen(t)
	n, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{Ready, "STATUS=applying\nREADY=1"} {
		if err := n.Notify(state); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, c); got != state {
			t.Errorf("received %q, want %q", got, state)
		}
	}
}

// TestNotifyAbstract sends to a socket in the abstract namespace, which
// systemd uses for user managers and containers ("@..." in NOTIFY_SOCKET).
func TestNotifyAbstract(t *testing.T) {
	name := fmt.Sprintf("@regagent-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Skipf("no abstract unix sockets here: %v", err)
	}
	defer c.Close()
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(Stopping); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != Stopping {
		t.Errorf("received %q, want %q", got, Stopping)
	}
}

func TestNotifyNoListener(t *testing.T) {
	_, path := listen(t)
	n, err := New(path + ".gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(Ready); err == nil {
		t.Fatal("Notify to a socket nobody listens on returned nil")
	}
}

// TestNilNotifier: outside systemd, the caller runs the same code and
// nothing happens.
func TestNilNotifier(t *testing.T) {
	var n *Notifier
	if err := n.Notify(Ready); err != nil {
		t.Errorf("Notify on nil: %v", err)
	}
	// Run returns without ctx ending: there is nothing to report.
	if err := n.Run(context.Background(), func() bool { return true }, time.Millisecond); err != nil {
		t.Errorf("Run on nil: %v", err)
	}
}

// readiness is a ready func the test flips; every call is announced on
// asked, so the test knows Run has looked.
type readiness struct {
	ok    atomic.Bool
	asked chan bool
}

func newReadiness() *readiness { return &readiness{asked: make(chan bool, 1)} }

func (r *readiness) ready() bool {
	ok := r.ok.Load()
	select {
	case r.asked <- ok:
	default:
	}
	return ok
}

// TestRun: READY=1 only once ready reports true, then STOPPING=1 as soon
// as the context ends, and Run returns.
func TestRun(t *testing.T) {
	c, path := listen(t)
	n, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newReadiness()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, r.ready, time.Millisecond) }()

	// Run has asked twice and heard "no" both times: nothing was sent.
	for range 2 {
		if ok := <-r.asked; ok {
			t.Fatal("ready reported true before the test set it")
		}
	}
	if got := queued(t, c); got != "" {
		t.Fatalf("sent %q before the service was ready", got)
	}
	r.ok.Store(true)
	if got := receive(t, c); got != Ready {
		t.Fatalf("received %q, want %q", got, Ready)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the context ended", err)
	default:
	}
	cancel()
	if got := receive(t, c); got != Stopping {
		t.Fatalf("received %q, want %q", got, Stopping)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := queued(t, c); got != "" {
		t.Errorf("sent %q after STOPPING=1", got)
	}
}

// TestRunStopBeforeReady: a service stopped before it was ever ready
// says STOPPING=1 and never READY=1.
func TestRunStopBeforeReady(t *testing.T) {
	c, path := listen(t)
	n, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newReadiness()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, r.ready, time.Millisecond) }()
	<-r.asked
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := receive(t, c); got != Stopping {
		t.Fatalf("received %q, want only %q", got, Stopping)
	}
	if got := queued(t, c); got != "" {
		t.Errorf("sent %q after STOPPING=1", got)
	}
}

// TestRunSendFails: a socket that is gone ends Run with the error at once,
// instead of waiting for the context.
func TestRunSendFails(t *testing.T) {
	_, path := listen(t)
	n, err := New(path + ".gone")
	if err != nil {
		t.Fatal(err)
	}
	err = n.Run(context.Background(), func() bool { return true }, time.Millisecond)
	if err == nil {
		t.Fatal("Run returned nil after READY=1 could not be sent")
	}
}
