package client

import (
	"errors"
	"testing"
)

func TestDetectIP(t *testing.T) {
	if _, err := DetectIP("not-a-cidr"); err == nil {
		t.Fatal("DetectIP(not-a-cidr) succeeded, want an error")
	}
	// 0.0.0.0 is never an interface address.
	if ip, err := DetectIP("0.0.0.0/32"); !errors.Is(err, errNoIPv4) {
		t.Fatalf("DetectIP(0.0.0.0/32) = %v, %v; want errNoIPv4", ip, err)
	}
	ip, err := DetectIP("")
	if err != nil {
		if !errors.Is(err, errNoIPv4) {
			t.Fatalf("DetectIP() error = %v", err)
		}
		return
	}
	if ip.To4() == nil || ip.IsLoopback() {
		t.Fatalf("DetectIP() = %v, want a non-loopback IPv4 address", ip)
	}
}
