package agent

import (
	"errors"
	"fmt"
	"net"

	"regagent/internal/config"
	"regagent/internal/hostip"
)

// SelfIPRule decides what ${SELF_IP} renders to, the same way in every
// command (validate, plan, run, demo): an explicit Override first, else the
// first non-loopback IPv4 address of this host within the file's
// service.ip_cidr (any, when the file sets none). No other address is ever
// used: a host without a matching address has none.
type SelfIPRule struct {
	// Override is --self-ip, else $SELF_IP; it wins over detection and
	// over ip_cidr, since the user chose it.
	Override string
	// Detect finds the host's address within cidr; nil means the host's
	// interfaces (hostip.Detect).
	Detect func(cidr string) (net.IP, error)
}

// Resolve returns the address for a file whose service.ip_cidr is cidr.
func (r SelfIPRule) Resolve(cidr string) (string, error) {
	if r.Override != "" {
		return r.Override, nil
	}
	detect := r.Detect
	if detect == nil {
		detect = func(cidr string) (net.IP, error) { return hostip.Detect(nil, cidr) }
	}
	ip, err := detect(cidr)
	var nm *hostip.NoMatchError
	switch {
	case errors.As(err, &nm):
		return "", fmt.Errorf("service.ip_cidr: %w", err) // says it all
	case err != nil:
		return "", fmt.Errorf("cannot detect this host's address: %w", err)
	}
	return ip.String(), nil
}

// Rendered is a file loaded under the rule.
type Rendered struct {
	Config *config.Config
	// SelfIP is what ${SELF_IP} rendered to; "" when the file does not use
	// it and no address was found.
	SelfIP string
	// NoAddress, when set, says why the rule found no address for a file
	// that uses ${SELF_IP}: Config was then rendered with the placeholder.
	NoAddress error
}

// Load reads path twice when it uses ${SELF_IP}: once to learn its
// service.ip_cidr, then with the address the rule finds within it. When
// none is found, ${SELF_IP} renders to placeholder and NoAddress says why;
// the error is the file's own (config.Errors, or a read error).
func (r SelfIPRule) Load(path string, opts config.ParseOptions, placeholder string) (Rendered, error) {
	lookup := opts.Lookup
	used := false
	ip := placeholder
	opts.Lookup = func(name string) (string, bool) {
		if name == "SELF_IP" {
			used = true
			return ip, true
		}
		if lookup == nil {
			return "", false
		}
		return lookup(name)
	}
	cfg, err := config.Load(path, opts)
	if err != nil {
		return Rendered{}, err
	}
	found, ferr := r.Resolve(cfg.Service.IPCIDR)
	if !used {
		return Rendered{Config: cfg, SelfIP: found}, nil
	}
	if ferr != nil {
		return Rendered{Config: cfg, SelfIP: placeholder, NoAddress: ferr}, nil
	}
	if found != placeholder {
		ip = found
		if cfg, err = config.Load(path, opts); err != nil {
			return Rendered{}, err
		}
	}
	return Rendered{Config: cfg, SelfIP: found}, nil
}
