package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"regagent/internal/client"
	"regagent/internal/config"
)

// largestFile is a valid file with every value at the longest config
// allows: names, 100 domains of 253 bytes, path, backend, health check
// path, metadata, header, option value, maintenance page and reason.
func largestFile() string {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	var b strings.Builder
	fmt.Fprintf(&b, "proxy: {address: \"registry:9000\"}\n")
	fmt.Fprintf(&b, "service:\n  name: %s\n  instance: %s\n  maintenance_port: 65535\n  metadata:\n", long("s", 253), long("i", 253))
	// 16,338 bytes of JSON, within the 16 KiB REGISTER allows.
	for i, n := range []int{4096, 4096, 4096, 3000} {
		fmt.Fprintf(&b, "    %d%s: %s\n", i, long("k", 255), long("v", n))
	}
	fmt.Fprintf(&b, "routes:\n  - name: %s\n    priority: -9223372036854775808\n    domains:\n", long("r", 128))
	for i := range 100 {
		// 253 bytes: four labels, the first at most 63.
		fmt.Fprintf(&b, "      - %03d%s.%s.%s.%s\n", i, long("a", 60), long("b", 63), long("c", 63), long("d", 61))
	}
	fmt.Fprintf(&b, "    path: /%s\n    backend: http://h:1/%s\n", long("p", 1023), long("u", 2048-len("http://h:1/")))
	fmt.Fprintf(&b, "    health_check: {path: /%s, interval: 10s, timeout: 1s}\n", long("h", 1023))
	fmt.Fprintf(&b, "headers:\n  %s: %s\n", long("X", 256), long("v", 4096))
	fmt.Fprintf(&b, "options:\n  timeout: \"%s1s\"\n", long("0", 62))
	fmt.Fprintf(&b, "maintenance:\n  enabled: true\n  targets: [%s]\n  page: http://m:1/%s\n  reason: %s\n",
		long("r", 128), long("m", 2048-len("http://m:1/")), long("z", 1024))
	return b.String()
}

// TestLargestConfigFitsTheWire: config's bounds keep every command under
// the client's line budget (§1), the one check of it. The largest file
// config accepts is registered, applied and put in maintenance through a
// real client: any line over the budget would be refused by the client.
func TestLargestConfigFitsTheWire(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader(largestFile()), config.ParseOptions{Hostname: "h"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	h := newHarnessWith(t, func(c *client.Options) {
		c.Service, c.Instance = cfg.Service.Name, cfg.Service.Instance
		c.MaintenancePort, c.Metadata = cfg.Service.MaintenancePort, cfg.Service.Metadata
	})
	h.sync(desired(cfg))
	longest := map[string]int{}
	for _, line := range h.srv.Commands() {
		name, _, _ := strings.Cut(line, "|")
		longest[name] = max(longest[name], len(line))
	}
	for _, cmd := range []string{"REGISTER", "HEADERS_SET", "OPTIONS_SET", "MAINT_ENTER", "HEALTH_SET"} {
		if longest[cmd] == 0 {
			t.Errorf("no %s sent: %v", cmd, longest)
		}
	}
	if n := max(longest["ROUTE_ADD"], longest["ROUTE_ADD_BULK"]); n < 25_000 || n > client.LineBudget {
		t.Errorf("the route went in a line of %d bytes, want the largest config allows, within %d", n, client.LineBudget)
	}
}
