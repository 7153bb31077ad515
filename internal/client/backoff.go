package client

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect delay schedule: Initial, multiplied by Multiplier
// after every failed try, capped at Max, each delay spread by ±Jitter (a
// fraction of the delay) so that many agents restarted together do not
// reconnect in lock step. Initial is raised to at least 10 ms and Max (and
// ProbeMax) to at least 100 ms: a schedule of nanoseconds is a dial storm and
// a log flood against a registry that is down.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
	// ProbeMax caps the wait while the registry refuses connections (a
	// refused dial is nearly free for it); zero means 2 s. Max
	// still applies to tries whose handshake or connection failed.
	ProbeMax time.Duration
}

// defaultProbeMax keeps a restarted registry's clients back within about 2 s
// of its port opening (plus handshake and replay), for any outage length,
// while N clients dial a registry that is down about N/1.8 times a second.
const defaultProbeMax = 2 * time.Second

// The smallest values a Client accepts; smaller ones are raised to these.
// They are the config file's minimums too: at most 20 dials and 10 PINGs a
// second, which no registry notices, while a test or an impatient operator
// can still find a dead link within a fraction of a second.
const (
	minBackoffInitial    = 10 * time.Millisecond
	minBackoffMax        = 50 * time.Millisecond
	minKeepaliveInterval = 100 * time.Millisecond
)

// DefaultBackoff is the schedule a zero Options.Backoff gets.
func DefaultBackoff() Backoff {
	return Backoff{Initial: 250 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2, ProbeMax: defaultProbeMax}
}

// withDefaults fills the zero fields; a fully zero Backoff becomes
// DefaultBackoff, otherwise a zero Jitter means no jitter.
func (b Backoff) withDefaults() Backoff {
	if b == (Backoff{}) {
		return DefaultBackoff()
	}
	d := DefaultBackoff()
	if b.Initial <= 0 {
		b.Initial = d.Initial
	}
	if b.Max <= 0 {
		b.Max = d.Max
	}
	if b.ProbeMax <= 0 {
		b.ProbeMax = d.ProbeMax
	}
	b.ProbeMax = max(b.ProbeMax, minBackoffMax)
	b.Initial = max(b.Initial, minBackoffInitial)
	b.Max = max(b.Max, minBackoffMax)
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier < 1 {
		b.Multiplier = d.Multiplier
	}
	b.Jitter = min(max(b.Jitter, 0), 1)
	return b
}

// Delay is the wait before try number attempt (0-based) of a series. rnd
// returns a value in [0,1); nil means no jitter. The result never exceeds Max.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	b = b.withDefaults()
	attempt = max(attempt, 0)
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempt))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	if rnd != nil && b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rnd()-1)
	}
	return time.Duration(min(max(d, 0), float64(b.Max)))
}

// randFloat is the default jitter source.
func randFloat() float64 { return rand.Float64() }

// sleepCtx is the default Options.Sleep: wait d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
