package hostip

import (
	"errors"
	"net"
	"testing"
)

func TestDetect(t *testing.T) {
	if _, err := Detect("not-a-cidr"); err == nil {
		t.Fatal("Detect(not-a-cidr) succeeded, want an error")
	}
	// 0.0.0.0 is never an interface address, nor one of TEST-NET-3.
	for _, cidr := range []string{"0.0.0.0/32", "203.0.113.0/32"} {
		if ip, err := Detect(cidr); !errors.Is(err, ErrNoIPv4) {
			t.Fatalf("Detect(%s) = %v, %v; want ErrNoIPv4", cidr, ip, err)
		}
	}
	ip, err := Detect("")
	if err != nil {
		if !errors.Is(err, ErrNoIPv4) {
			t.Fatalf("Detect() error = %v", err)
		}
		return
	}
	if ip.To4() == nil || ip.IsLoopback() {
		t.Fatalf("Detect() = %v, want a non-loopback IPv4 address", ip)
	}
}

// TestWatcherCheck: the first address is only recorded, a different one is
// a change (once), and a failed read changes nothing.
func TestWatcherCheck(t *testing.T) {
	var (
		cur  = net.IPv4(10, 0, 0, 1)
		fail error
	)
	w := NewWatcher(func() (net.IP, error) { return cur, fail })
	for _, step := range []struct {
		ip      net.IP
		fail    error
		wantOld net.IP
		wantErr bool
	}{
		{ip: net.IPv4(10, 0, 0, 1)},
		{ip: net.IPv4(10, 0, 0, 1)},
		{ip: net.IPv4(10, 0, 0, 2), wantOld: net.IPv4(10, 0, 0, 1)},
		{ip: net.IPv4(10, 0, 0, 2)},
		{fail: errors.New("no interfaces"), wantErr: true},
		{ip: net.IPv4(10, 0, 0, 3), wantOld: net.IPv4(10, 0, 0, 2)},
	} {
		cur, fail = step.ip, step.fail
		old, ip, err := w.Check()
		if (err != nil) != step.wantErr || !old.Equal(step.wantOld) || (err == nil && !ip.Equal(step.ip)) {
			t.Fatalf("Check with %v/%v = %v, %v, %v; want old %v", step.ip, step.fail, old, ip, err, step.wantOld)
		}
	}
}
