package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler is a slog.Handler that masks secrets in the message and in every
// attribute before passing the record on. It asks current for the Redactor
// at each record, so a new config's secrets apply from then on.
type Handler struct {
	inner   slog.Handler
	current func() *Redactor
}

// NewHandler wraps inner. current may return nil (URL passwords only).
func NewHandler(inner slog.Handler, current func() *Redactor) *Handler {
	return &Handler{inner: inner, current: current}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.current()
	out := slog.NewRecord(rec.Time, rec.Level, r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.Attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler; the attributes are masked with the
// Redactor of the moment.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	r := h.current()
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = r.Attr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(masked), current: h.current}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), current: h.current}
}

// Attr returns a with its value masked: strings and errors as String does,
// groups member by member, and other values through their JSON form (a
// struct holding a backend URL, a map of headers).
func (r *Redactor) Attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		masked := make([]slog.Attr, len(g))
		for i, m := range g {
			masked[i] = r.Attr(m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(masked...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, r.String(x.Error()))
		case []string:
			masked := make([]string, len(x))
			for i, s := range x {
				masked[i] = r.String(s)
			}
			return slog.Any(a.Key, masked)
		case fmt.Stringer:
			return slog.String(a.Key, r.String(x.String()))
		default:
			tree, err := r.Any(x)
			if err != nil {
				return slog.String(a.Key, r.String(fmt.Sprintf("%+v", x)))
			}
			return slog.Any(a.Key, tree)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
