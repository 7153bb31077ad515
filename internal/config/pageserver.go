package config

import (
	"net"
	"net/url"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// The page server (maintenance.serve) and the page URL are one setting seen
// from two sides: regagent listens on the maintenance port and registers
// http://<host>:<port>/ as the page (PROTOCOL.md §5), where the host is
// listen's when it names one and ${SELF_IP} otherwise. So that the two
// cannot disagree, the port is written once: service.maintenance_port, or
// listen's port, which then becomes service.maintenance_port (REGISTER
// announces it). A maintenance.page beside serve must lead to that server:
// plain http on the same port.

// serveShorthand decodes `serve: true` (a scalar is the enabled flag) and
// turns a mapping on before its keys are read, so that writing a serve block
// serves the page unless it says `enabled: false`. It reports whether it
// decoded n.
func (d *decoder) serveShorthand(n *yaml.Node, v reflect.Value, p *ypath, si *structInfo, fields []*yaml.Node) bool {
	idx := si.fields["enabled"]
	switch n.Kind {
	case yaml.ScalarNode:
		fields[idx] = n
		d.decode(n, v.Field(idx), p)
		return true
	case yaml.MappingNode:
		v.Field(idx).SetBool(true)
	}
	return false
}

// checkPageServer checks the page server's port against
// service.maintenance_port and maintenance.page, and fills
// service.maintenance_port from listen when the file leaves it out.
func (p *parseRun) checkPageServer(cfg *Config) {
	s := &cfg.Maintenance.Serve
	if !s.Enabled || p.suppressed("maintenance.serve") || p.suppressed("service.maintenance_port") {
		return
	}
	port := cfg.Service.MaintenancePort
	if port < 0 || port > 65535 {
		return // reported by its own rule
	}
	if s.Listen != "" {
		_, lp, err := net.SplitHostPort(s.Listen)
		n, aerr := strconv.Atoi(lp)
		if err != nil || aerr != nil || n < 1 || n > 65535 {
			return // reported by the listenaddr rule
		}
		switch {
		case port == 0:
			cfg.Service.MaintenancePort, port = n, n
		case port != n:
			at, _ := p.field(s, "listen")
			mp, _ := p.field(&cfg.Service, "maintenance_port")
			p.add(at, "maintenance.serve.listen", ErrInvalid,
				"port %d differs from service.maintenance_port (%d, line %d); the page is served and announced on one port: write it once",
				n, port, mp.Line)
			return
		}
	}
	if port == 0 {
		at, _ := p.field(&cfg.Maintenance, "serve")
		p.add(at, "maintenance.serve", ErrMissing,
			"needs a port: set service.maintenance_port (or maintenance.serve.listen, e.g. \":8081\")")
		return
	}
	if cfg.Maintenance.Page == "" || p.suppressed("maintenance.page") {
		return
	}
	u, err := url.Parse(cfg.Maintenance.Page)
	if err != nil {
		return // reported by the page rule
	}
	pagePort := u.Port()
	if pagePort == "" {
		pagePort = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if u.Scheme != "http" || pagePort != strconv.Itoa(port) {
		at, _ := p.field(&cfg.Maintenance, "page")
		p.add(at, "maintenance.page", ErrInvalid,
			"%s does not lead to the page regagent serves (maintenance.serve: plain http on port %d); remove it, and regagent registers %s",
			quote(cfg.Maintenance.Page), port, quote(cfg.Maintenance.Serve.url("${SELF_IP}", port)))
	}
}

// PageServerAddress is the address the page server binds: listen, or every interface
// on service.maintenance_port.
func (c *Config) PageServerAddress() string {
	if c.Maintenance.Serve.Listen != "" {
		return c.Maintenance.Serve.Listen
	}
	return net.JoinHostPort("", strconv.Itoa(c.Service.MaintenancePort))
}

// url is the page URL of the server on port: listen's host when it names
// one, else selfIP; "" when neither is known.
func (s *PageServer) url(selfIP string, port int) string {
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil || host == "" || net.ParseIP(host).IsUnspecified() {
		host = selfIP
	}
	if host == "" {
		return ""
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}
