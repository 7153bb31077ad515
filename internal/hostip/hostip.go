package hostip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// ErrNoIPv4 reports a host without a non-loopback IPv4 address (in the
// requested network).
var ErrNoIPv4 = errors.New("hostip: no non-loopback IPv4 address")

// Addrs lists the host's interface addresses; net.InterfaceAddrs is the
// real one, tests give their own.
type Addrs func() ([]net.Addr, error)

// Detect returns the first non-loopback IPv4 address of the host, within
// cidr when cidr is not empty. addrs nil means net.InterfaceAddrs. When no
// address matches, the error wraps ErrNoIPv4 and lists the addresses the
// host does have, so that a wrong ip_cidr is plain to see.
func Detect(addrs Addrs, cidr string) (net.IP, error) {
	if addrs == nil {
		addrs = net.InterfaceAddrs
	}
	var n *net.IPNet
	if cidr != "" {
		_, ipn, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("cannot detect address: %w", err)
		}
		n = ipn
	}
	list, err := addrs()
	if err != nil {
		return nil, fmt.Errorf("cannot list interface addresses: %w", err)
	}
	var others []string
	for _, a := range list {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil || ip.IsLoopback() {
			continue
		}
		if n != nil && !n.Contains(ip) {
			others = append(others, ip.String())
			continue
		}
		return ip, nil
	}
	if n == nil {
		return nil, ErrNoIPv4
	}
	return nil, &NoMatchError{CIDR: cidr, Others: others}
}

// NoMatchError reports a host with no IPv4 address within CIDR; Others are
// the non-loopback IPv4 addresses it has. It is ErrNoIPv4 for errors.Is.
type NoMatchError struct {
	CIDR   string
	Others []string
}

func (e *NoMatchError) Error() string {
	if len(e.Others) == 0 {
		return fmt.Sprintf("no IPv4 address of this host is within %s (it has no non-loopback IPv4 address at all)", e.CIDR)
	}
	const shown = 5
	others, more := e.Others, ""
	if len(others) > shown {
		others, more = others[:shown], fmt.Sprintf(" (+%d more)", len(others)-shown)
	}
	return fmt.Sprintf("no IPv4 address of this host is within %s (it has %s%s)", e.CIDR, strings.Join(others, ", "), more)
}

func (e *NoMatchError) Is(target error) bool { return target == ErrNoIPv4 }

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
