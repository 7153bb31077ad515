package hostip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrNoIPv4 reports a host without a non-loopback IPv4 address (in the
// requested network).
var ErrNoIPv4 = errors.New("hostip: no non-loopback IPv4 address")

// Detect returns the first non-loopback IPv4 address of the host, within
// cidr when cidr is not empty.
func Detect(cidr string) (net.IP, error) {
	var n *net.IPNet
	if cidr != "" {
		_, ipn, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("cannot detect address: %w", err)
		}
		n = ipn
	}
	return firstIPv4(n)
}

// firstIPv4 is the first non-loopback IPv4 address of the host, within n
// when n is not nil.
func firstIPv4(n *net.IPNet) (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil || ip.IsLoopback() {
			continue
		}
		if n != nil && !n.Contains(ip) {
			continue
		}
		return ip, nil
	}
	return nil, ErrNoIPv4
}

// Watcher remembers the last address its source reported, to tell a change.
type Watcher struct {
	source func() (net.IP, error)

	mu   sync.Mutex
	last net.IP // nil before the first successful check
}

// NewWatcher returns a Watcher asking source (e.g. a Detect closure).
func NewWatcher(source func() (net.IP, error)) *Watcher {
	return &Watcher{source: source}
}

// Check asks the source once. When the address differs from the last one
// seen it returns that one as old; the first address seen is only recorded
// (old is nil). On error nothing is recorded.
func (w *Watcher) Check() (old, ip net.IP, err error) {
	ip, err = w.source()
	if err != nil {
		return nil, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.last
	w.last = ip
	if prev != nil && !prev.Equal(ip) {
		return prev, ip, nil
	}
	return nil, ip, nil
}

// Run calls check every interval until ctx ends.
func Run(ctx context.Context, interval time.Duration, check func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}
