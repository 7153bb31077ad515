package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// SelfIP is the host address last reported by the IP source. Before the
// first check it asks the source once.
func (c *Client) SelfIP() net.IP {
	c.mu.Lock()
	ip := c.ip
	c.mu.Unlock()
	if ip != nil {
		return ip
	}
	ip, err := c.opts.IPSource()
	if err != nil {
		return nil
	}
	c.mu.Lock()
	if c.ip == nil {
		c.ip = ip
	}
	ip = c.ip
	c.mu.Unlock()
	return ip
}

// checkIP asks the IP source and emits IP_CHANGED when the address differs
// from the last one seen. The client only reports: what to do about a new
// address (re-register, replay backends) is the owner's decision.
func (c *Client) checkIP() {
	ip, err := c.opts.IPSource()
	if err != nil {
		c.emit(EventLog, "cannot read host address", err, map[string]any{"level": "warn"})
		return
	}
	c.mu.Lock()
	old := c.ip
	c.ip = ip
	c.mu.Unlock()
	if old != nil && !old.Equal(ip) {
		c.emit(EventIPChanged, "host address changed", nil, map[string]any{"old_ip": old.String(), "new_ip": ip.String()})
	}
}

func (c *Client) watchIP(ctx context.Context) {
	t := time.NewTicker(c.opts.IPCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.checkIP()
		}
	}
}

var errNoIPv4 = errors.New("client: no non-loopback IPv4 address")

// firstIPv4 is the default IP source: the first non-loopback IPv4 address of
// the host, within n when n is not nil.
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
	return nil, errNoIPv4
}

// DetectIP returns the host address the default IP source would report:
// the first non-loopback IPv4 address, within cidr when cidr is not empty.
// The agent uses it to render ${SELF_IP} before the client exists.
func DetectIP(cidr string) (net.IP, error) {
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
