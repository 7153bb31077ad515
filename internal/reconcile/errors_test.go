package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"regagent/internal/client"
)

// pass runs one pass towards d, as Run would after SetDesired.
func (h *harness) pass(d Desired) (Result, error) {
	h.r.setDesired(d, h.drift, 0)
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	return h.r.Reconcile(ctx)
}

// A file refused for good comes back as a TerminalError, whose text is the
// refusal's own, and asks for the fallback pass at once.
func TestMassRemovalIsTerminalError(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"), rt("c", "c.com", "/", "http://c"))
	h.sync(desired(c))

	res, err := h.pass(desired(conf(c.Routes[0])))
	var te *TerminalError
	if !errors.As(err, &te) || !errors.Is(err, ErrMassRemoval) {
		t.Fatalf("err = %#v, want a TerminalError wrapping ErrMassRemoval", err)
	}
	if want := "reconcile: refusing mass removal: 2 of 3 live routes would go"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %q, want it to start with %q", err, want)
	}
	if !res.Requeue {
		t.Fatal("Requeue = false: the last good state is not brought back at once")
	}
	if s := h.r.Status(); !s.Terminal || s.LastError != err.Error() {
		t.Fatalf("status Terminal=%v LastError=%q, want true and %q", s.Terminal, s.LastError, err)
	}
	if rep := reportsOf[Failed](h); len(rep) != 1 || !isTerminal(rep[0].Err) {
		t.Fatalf("Failed reports %+v, want one terminal", rep)
	}
}

// A refused apply of the first file is terminal too; with no good state
// to fall back to, no pass is due.
func TestRefusedApplyIsTerminalError(t *testing.T) {
	h := newHarness(t)
	h.r.pass.conn = &injectConn{Client: h.cl, before: 1, inject: func(ctx context.Context) {
		if err := stage(ctx, h.cl, func(b *client.Batch) {
			b.RouteAdd(client.Route{Domains: []string{"bad.example.com"}, Path: "/", Backend: "http://[::1"})
		}); err != nil {
			t.Errorf("inject: %v", err)
		}
	}}
	res, err := h.pass(desired(conf(rt("a", "a.com", "/", "http://a"))))
	var te *TerminalError
	if !errors.As(err, &te) || !errors.Is(err, ErrInvalid) || !errors.Is(err, client.ErrInvalidConfig) {
		t.Fatalf("err = %#v, want a TerminalError wrapping ErrInvalid and client.ErrInvalidConfig", err)
	}
	if res.Requeue {
		t.Fatal("Requeue = true with no good state to fall back to")
	}
}

// A failure that a retry may fix is not terminal: Run backs off and
// retries it.
func TestCommandFailureIsNotTerminal(t *testing.T) {
	h := newHarness(t)
	c := conf(rt("a", "a.com", "/", "http://a"), rt("b", "b.com", "/", "http://b"))
	h.sync(desired(c))
	// b goes behind the agent's back: its ROUTE_UPDATE fails.
	var b client.Batch
	b.RouteRemove(h.r.Applied().Routes["b"].ID)
	b.Apply()
	if _, err := h.cl.Send(h.ctx, &b); err != nil {
		t.Fatal(err)
	}
	c.Routes[1].Priority = 7
	res, err := h.pass(desired(c))
	if err == nil || isTerminal(err) || res.Requeue {
		t.Fatalf("err = %v (terminal %v), Requeue = %v; want a non-terminal error", err, isTerminal(err), res.Requeue)
	}
	if s := h.r.Status(); s.Terminal {
		t.Fatalf("status Terminal after %v", err)
	}
}
