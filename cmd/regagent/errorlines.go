package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"regagent/internal/agent"
)

// errorLines is the text logger's handler around tint's: a CONFIG_INVALID
// record is followed by its config errors, one per line, exactly as
// `regagent validate` prints them, instead of one escaped errors=[...]
// field people cannot read and editors cannot jump from. JSON output keeps
// the list (README "Events").
type errorLines struct {
	inner slog.Handler
	w     io.Writer
	mu    *sync.Mutex // one record and its lines are never split by another
}

func newErrorLines(inner slog.Handler, w io.Writer) slog.Handler {
	return errorLines{inner: inner, w: w, mu: &sync.Mutex{}}
}

func (h errorLines) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h errorLines) Handle(ctx context.Context, r slog.Record) error {
	var (
		errs    []string
		invalid bool
	)
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "event" && a.Value.String() == agent.EventConfigInvalid {
			invalid = true
		}
		if l, ok := a.Value.Any().([]string); ok && a.Key == "errors" {
			errs = l
			return true
		}
		out.AddAttrs(a)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if !invalid || errs == nil {
		return h.inner.Handle(ctx, r)
	}
	if err := h.inner.Handle(ctx, out); err != nil {
		return err
	}
	for _, e := range errs {
		if _, err := fmt.Fprintln(h.w, e); err != nil {
			return err
		}
	}
	return nil
}

func (h errorLines) WithAttrs(as []slog.Attr) slog.Handler {
	return errorLines{inner: h.inner.WithAttrs(as), w: h.w, mu: h.mu}
}

func (h errorLines) WithGroup(name string) slog.Handler {
	return errorLines{inner: h.inner.WithGroup(name), w: h.w, mu: h.mu}
}
