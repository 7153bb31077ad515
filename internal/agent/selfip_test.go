package agent

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"regagent/internal/config"
	"regagent/internal/hostip"
)

// TestSelfIPRule: an explicit address wins; else the host's address within
// service.ip_cidr; and with none there, never another one: the file is
// rendered with the placeholder and NoAddress says why.
func TestSelfIPRule(t *testing.T) {
	host := func(cidr string) (net.IP, error) {
		addrs := func() ([]net.Addr, error) {
			return []net.Addr{&net.IPNet{IP: net.IPv4(192, 0, 2, 2), Mask: net.CIDRMask(24, 32)}}, nil
		}
		return hostip.Detect(addrs, cidr)
	}
	file := func(t *testing.T, cidr, backend string) string {
		body := header + "routes:\n" + routeYAML("web", "a.example.com", "/", backend)
		if cidr != "" {
			body = strings.Replace(body, "  instance: i1\n", "  instance: i1\n  ip_cidr: "+cidr+"\n", 1)
		}
		path := filepath.Join(t.TempDir(), "registry.yaml")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name, override, cidr, backend string
		wantBackend, wantIP           string
		wantMissing                   bool
	}{
		{"detected", "", "", "http://${SELF_IP}:3000", "http://192.0.2.2:3000", "192.0.2.2", false},
		{"detected within ip_cidr", "", "192.0.2.0/24", "http://${SELF_IP}:3000", "http://192.0.2.2:3000", "192.0.2.2", false},
		{"none within ip_cidr", "", "10.0.0.0/8", "http://${SELF_IP}:3000", "http://127.0.0.1:3000", "127.0.0.1", true},
		{"explicit address wins", "10.9.9.9", "10.0.0.0/8", "http://${SELF_IP}:3000", "http://10.9.9.9:3000", "10.9.9.9", false},
		{"not used, none within ip_cidr", "", "10.0.0.0/8", "http://b:3000", "http://b:3000", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := SelfIPRule{Override: tc.override, Detect: host}
			r, err := rule.Load(file(t, tc.cidr, tc.backend), config.ParseOptions{Hostname: "h"}, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Config.Routes[0].Backend; got != tc.wantBackend || r.SelfIP != tc.wantIP {
				t.Errorf("backend %s, SELF_IP %q; want %s, %q", got, r.SelfIP, tc.wantBackend, tc.wantIP)
			}
			if (r.NoAddress != nil) != tc.wantMissing {
				t.Errorf("NoAddress = %v, want missing %v", r.NoAddress, tc.wantMissing)
			}
			if tc.wantMissing && (!errors.Is(r.NoAddress, hostip.ErrNoIPv4) || !strings.Contains(r.NoAddress.Error(), tc.cidr)) {
				t.Errorf("NoAddress = %v; want ErrNoIPv4 naming %s", r.NoAddress, tc.cidr)
			}
		})
	}
}
