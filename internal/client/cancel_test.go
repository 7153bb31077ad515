package client

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// lateCancelCtx is a context cancelled by another goroutine at a precise
// moment: its first Err() says nil, every later one context.Canceled. Done
// never fires, so a select on it takes the other case.
type lateCancelCtx struct {
	context.Context
	calls atomic.Int32
}

func (c *lateCancelCtx) Err() error {
	if c.calls.Add(1) > 1 {
		return context.Canceled
	}
	return nil
}

// A context cancelled after maint.do's check that follows taking the slot,
// but before the write's own check: nothing is written, so the operation
// must end at once and free the slot, not stay pending until
// MaintenanceTimeout for a command the server never saw.
func TestMaintenanceCancelBeforeWriteReleasesSlot(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), func(c *Options) { c.MaintenanceTimeout = 5 * time.Second })
	c := h.c
	id := liveRoute(t, c)

	ctx := &lateCancelCtx{Context: context.Background()}
	if err := c.MaintenanceEnter(ctx, "r999", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("MaintenanceEnter = %v, want context.Canceled", err)
	}
	for _, line := range sim.Commands() {
		if strings.HasPrefix(line, "MAINT_ENTER|") {
			t.Fatalf("precondition: the cancelled call reached the server: %q", line)
		}
	}

	ctx2, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if err := c.MaintenanceEnter(ctx2, id, ""); err != nil {
		t.Fatalf("MaintenanceEnter(%s) = %v after %v: the slot is held by an op that was never written",
			id, err, time.Since(start).Round(time.Millisecond))
	}
}
