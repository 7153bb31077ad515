package e2e

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"regagent/internal/agent"
)

// hostAddrs stands for the host's interfaces: the test changes them, and
// every look the agent takes is signalled.
type hostAddrs struct {
	mu     sync.Mutex
	addrs  []net.Addr
	looked chan struct{}
}

func newHostAddrs(tb testing.TB, cidrs ...string) *hostAddrs {
	h := &hostAddrs{looked: make(chan struct{}, 1)}
	h.set(tb, cidrs...)
	return h
}

func (h *hostAddrs) set(tb testing.TB, cidrs ...string) {
	tb.Helper()
	var addrs []net.Addr
	for _, c := range append([]string{"127.0.0.1/8"}, cidrs...) {
		ip, n, err := net.ParseCIDR(c)
		if err != nil {
			tb.Fatal(err)
		}
		addrs = append(addrs, &net.IPNet{IP: ip, Mask: n.Mask})
	}
	h.mu.Lock()
	h.addrs = addrs
	h.mu.Unlock()
}

func (h *hostAddrs) list() ([]net.Addr, error) {
	select {
	case h.looked <- struct{}{}:
	default:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addrs, nil
}

// awaitLooks waits until the agent has looked at the interfaces n more times.
func (h *hostAddrs) awaitLooks(tb testing.TB, n int) {
	tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for range n {
		select {
		case <-h.looked:
		case <-timeout.C:
			tb.Fatalf("the agent stopped looking for an address")
		}
	}
}

// service.ip_cidr names a network the host has no address in: the agent
// says so, registers nothing (no address outside the network, not even the
// host's only one), is not ready, and keeps looking. Once an address in the
// network appears, it registers the routes on that one.
func TestIPCIDRWaitsForAMatchingAddress(t *testing.T) {
	t.Parallel()
	host := newHostAddrs(t, "192.0.2.2/24")
	routes := []route{{name: "web", domains: []string{"a.example.com"}, path: "/", backend: "http://${SELF_IP}:3003"}}
	content := strings.Replace(file{routes: routes}.render(), "  instance: i1\n", "  instance: i1\n  ip_cidr: 10.0.0.0/8\n", 1)
	r := startRun(t, content, setup{addrs: host.list})

	ev, _ := r.events.await(t, "the missing address reported", 0, func(ev agent.Event) bool {
		_, ok := ev.Detail.(agent.AddressMissing)
		return ok
	})
	if msg := ev.Err.Error(); !strings.Contains(msg, "10.0.0.0/8") || !strings.Contains(msg, "192.0.2.2") {
		t.Errorf("the report says %q; want it to name the network and the host's address", msg)
	}
	// Several more looks, and still nothing sent.
	host.awaitLooks(t, 3)
	if n := r.sim.CommandCount(); n != 0 || len(r.sim.Sessions()) != 0 {
		t.Fatalf("the registry got %d commands (%q) while no address matched", n, r.sim.Commands())
	}
	if ready, why := r.agent.Ready(); ready || !strings.Contains(why, "10.0.0.0/8") {
		t.Fatalf("Ready() = %v, %q; want not ready, naming the network", ready, why)
	}

	// An address in the network appears, after the other one.
	host.set(t, "192.0.2.2/24", "10.1.2.3/8")
	r.events.await(t, "the address found", 0, func(ev agent.Event) bool {
		_, ok := ev.Detail.(agent.AddressFound)
		return ok
	})
	want := []route{{name: "web", domains: []string{"a.example.com"}, path: "/", backend: "http://10.1.2.3:3003"}}
	r.firstApply(want)
	r.until("ready", func() error {
		if ok, why := r.agent.Ready(); !ok {
			return errors.New(why)
		}
		return nil
	})
	if got := r.snapshot().SelfIP; got != "10.1.2.3" {
		t.Errorf("status self_ip = %q, want 10.1.2.3", got)
	}
	for _, c := range r.sim.Commands() {
		if strings.Contains(c, "192.0.2.2") {
			t.Fatalf("an address outside ip_cidr reached the registry: %s", c)
		}
	}
}
