package client

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := DefaultBackoff()
	var got []time.Duration
	for i := range 10 {
		got = append(got, b.Delay(i, nil))
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Delay(%d)=%v, want %v", i, got[i], want[i])
		}
	}
	if d := b.Delay(10000, nil); d != 30*time.Second {
		t.Fatalf("huge attempt: %v", d)
	}
}

func TestBackoffJitter(t *testing.T) {
	b := DefaultBackoff()
	for _, tc := range []struct {
		rnd  float64
		want time.Duration
	}{
		{0, 800 * time.Millisecond},         // -20%
		{0.5, time.Second},                  // centre
		{0.999999, 1200 * time.Millisecond}, // ~+20%
	} {
		got := b.Delay(2, func() float64 { return tc.rnd })
		if diff := got - tc.want; diff < -time.Millisecond || diff > time.Millisecond {
			t.Errorf("rnd %v: got %v, want %v", tc.rnd, got, tc.want)
		}
	}
	if got := b.Delay(20, func() float64 { return 0.99 }); got > b.Max {
		t.Errorf("jitter exceeds Max: %v", got)
	}
}

func TestBackoffDefaults(t *testing.T) {
	if got := (Backoff{}).withDefaults(); got != DefaultBackoff() {
		t.Fatalf("zero: %+v", got)
	}
	got := Backoff{Initial: time.Millisecond}.withDefaults()
	if got.Max != 30*time.Second || got.Multiplier != 2 || got.Jitter != 0 {
		t.Fatalf("partial: %+v", got)
	}
	if got := (Backoff{Initial: time.Second, Max: time.Millisecond}).Delay(3, nil); got != time.Second {
		t.Fatalf("Max < Initial: %v", got)
	}
}
