package hostip

import (
	"errors"
	"net"
	"testing"
)

func addrs(tb testing.TB, cidrs ...string) Addrs {
	tb.Helper()
	var l []net.Addr
	for _, c := range cidrs {
		ip, n, err := net.ParseCIDR(c)
		if err != nil {
			tb.Fatal(err)
		}
		l = append(l, &net.IPNet{IP: ip, Mask: n.Mask})
	}
	return func() ([]net.Addr, error) { return l, nil }
}

// TestDetect: the first non-loopback IPv4 address, within the network when
// one is given; never one outside it, and the error names what the host has.
func TestDetect(t *testing.T) {
	host := addrs(t, "127.0.0.1/8", "::1/128", "fe80::1/64", "192.0.2.2/24", "10.1.2.3/8")
	for _, tc := range []struct {
		cidr, want, wantErr string
	}{
		{cidr: "", want: "192.0.2.2"},
		{cidr: "10.0.0.0/8", want: "10.1.2.3"},
		{cidr: "192.0.2.0/24", want: "192.0.2.2"},
		{cidr: "172.16.0.0/12", wantErr: "no IPv4 address of this host is within 172.16.0.0/12 (it has 192.0.2.2, 10.1.2.3)"},
		{cidr: "not-a-cidr", wantErr: "cannot detect address: invalid CIDR address: not-a-cidr"},
	} {
		ip, err := Detect(host, tc.cidr)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Detect(%q) = %v, %v; want error %q", tc.cidr, ip, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ip.String() != tc.want {
			t.Errorf("Detect(%q) = %v, %v; want %s", tc.cidr, ip, err, tc.want)
		}
	}
	if _, err := Detect(host, "172.16.0.0/12"); !errors.Is(err, ErrNoIPv4) {
		t.Errorf("no match: %v is not ErrNoIPv4", err)
	}
	if _, err := Detect(addrs(t, "127.0.0.1/8"), ""); err != ErrNoIPv4 {
		t.Errorf("loopback only: %v, want ErrNoIPv4", err)
	}
	if _, err := Detect(addrs(t, "127.0.0.1/8"), "10.0.0.0/8"); err == nil ||
		err.Error() != "no IPv4 address of this host is within 10.0.0.0/8 (it has no non-loopback IPv4 address at all)" {
		t.Errorf("loopback only, within a network: %v", err)
	}
	if _, err := Detect(func() ([]net.Addr, error) { return nil, errors.New("netlink: denied") }, ""); err == nil {
		t.Error("a failed listing is not an error")
	}
	// The real interfaces: whatever they are, never a loopback address.
	if ip, err := Detect(nil, ""); err == nil && (ip.To4() == nil || ip.IsLoopback()) {
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
