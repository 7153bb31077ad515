package registrysim

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLineLimit(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c := dial(t, srv)
	sid := c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")

	// 65,535 bytes before the newline: answered (extra fields are ignored).
	head := "PING|" + sid + "|"
	c.expect(head+strings.Repeat("x", 65535-len(head)), "PONG")

	// 65,536 bytes: no answer, the connection is dropped, the session is lost (§7).
	c.send(head + strings.Repeat("x", 65536-len(head)))
	c.expectEOF()
	eventually(t, "session in grace", func() bool { found, conn := connected(srv, sid); return found && !conn })
	backend(t, srv, "a.com", "/x", "http://one:1")
}

func TestRestart(t *testing.T) {
	srv := newServer(t, Options{})
	addr := srv.Addr()
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0", "a.com|/y|http://one:1|0")
	c.expect("MAINT_ENTER|{sid}|r1|", "ACK", "MAINT_OK|r1")

	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c.expectEOF()
	if srv.Addr() != addr {
		t.Fatalf("Addr = %s after restart, want %s", srv.Addr(), addr)
	}
	backend(t, srv, "a.com", "/y", "")
	if len(srv.Sessions()) != 0 || len(srv.InMaintenance()) != 0 {
		t.Fatal("state survived the restart")
	}
	n := dial(t, srv)
	n.expect("RECONNECT|"+c.sid, "ERROR|no session")
	n.register("svc", "inst1")
	n.expect("ROUTE_ADD|{sid}|a.com|/x|http://one:1|0", "ROUTE_OK|r1") // ids restart at r1
}

// signalHandler is a slog.Handler that reports a message on a channel.
type signalHandler struct {
	msg string
	ch  chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.ch <- struct{}{}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

func TestStopDelayAnswersPing(t *testing.T) {
	stopping := make(chan struct{}, 1)
	srv := newServer(t, Options{
		StopDelay: time.Minute, // ended early by Close below
		Logger:    slog.New(signalHandler{msg: "registrysim stopping", ch: stopping}),
	})
	c := dial(t, srv)
	c.register("svc", "inst1")
	done := make(chan error, 1)
	go func() { done <- srv.Stop() }()
	<-stopping
	if nc, err := net.Dial("tcp", srv.Addr()); err == nil {
		nc.Close()
		t.Fatal("new connection accepted while stopping")
	}
	c.expect("PING|{sid}", "PONG") // answered during the delay (§8)
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c.expectEOF()
}

func TestStopThenStart(t *testing.T) {
	srv := newServer(t, Options{})
	addr := srv.Addr()
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0")
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c.expectEOF()
	if err := srv.Start(); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	if srv.Addr() != addr {
		t.Fatalf("Addr = %s, want %s", srv.Addr(), addr)
	}
	backend(t, srv, "a.com", "/x", "")
	dial(t, srv).expect("PING|x", "ERROR|no session")
}

func TestFreeze(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	srv.Freeze(true)
	c.send("PING|{sid}")
	c.expectSilence(50 * time.Millisecond) // half-open: no answer, no close

	// A new connection is served: the client can reconnect.
	n := dial(t, srv)
	n.register("svc", "inst2")
	n.expect("PING|{sid}", "PONG")

	srv.Freeze(false)
	if got := c.read(); got != "PONG" {
		t.Fatalf("after thaw: %q, want PONG", got)
	}
}

func TestDropConnections(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.register("svc", "inst1")
	c2.register("svc", "inst2")
	c1.addApply("a.com|/x|http://one:1|0")
	srv.DropConnections()
	c1.expectEOF()
	c2.expectEOF()
	for _, s := range srv.Sessions() {
		if s.Connected {
			t.Fatalf("session %s still connected", s.ID)
		}
	}
	backend(t, srv, "a.com", "/x", "http://one:1") // still served (§7)
}

func TestResponseDelayKeepsOrder(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	srv.SetResponseDelay(5 * time.Millisecond)
	c.expect("ROUTE_ADD|{sid}|a.com|/1|http://b:1|0\nROUTE_ADD|{sid}|a.com|/2|http://b:1|0\nPING|{sid}",
		"ROUTE_OK|r1", "ROUTE_OK|r2", "PONG")
	srv.SetResponseDelay(0)
}

func TestSendRaw(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c := dial(t, srv)
	sid := c.register("svc", "inst1")
	if err := srv.SendRaw(sid, `EVENT|route_change|{"x":1}`); err != nil {
		t.Fatalf("SendRaw: %v", err)
	}
	c.expect("PING|{sid}", `EVENT|route_change|{"x":1}`, "PONG")
	if err := srv.SendRaw("nobody", "SHUTDOWN"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("SendRaw to unknown session: %v", err)
	}
	if err := srv.SendRaw(sid, "A\nB"); !errors.Is(err, ErrBadLine) {
		t.Fatalf("SendRaw with a newline: %v", err)
	}
	srv.DropConnections()
	if err := srv.SendRaw(sid, "SHUTDOWN"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("SendRaw to a session in grace: %v", err)
	}
}

func TestCommandsRecorded(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.expect("PING|x\r\n", "ERROR|no session")
	c.register("svc", "inst1")
	if got, want := srv.Commands(), []string{"PING|x", "REGISTER|svc|inst1|3001|{}"}; !slices.Equal(got, want) {
		t.Fatalf("Commands = %q, want %q", got, want)
	}
	srv.ResetCommands()
	c.expect("PING|{sid}", "PONG")
	if n := srv.CommandCount(); n != 1 {
		t.Fatalf("CommandCount = %d, want 1", n)
	}
}

func TestBackendTestFail(t *testing.T) {
	srv := newServer(t, Options{Checker: CheckerFunc(func(context.Context, string) error { return errDown })})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.expect("BACKEND_TEST|{sid}|http://127.0.0.1:1", `BACKEND_FAIL|{"error":"connection refused","reachable":false}`)
}

func TestLifecycleErrors(t *testing.T) {
	srv := New(Options{})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Start: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if got := srv.Resolve("a.com", "/"); got.Kind != TargetNone {
		t.Fatalf("Resolve after Close: %+v", got)
	}
}
