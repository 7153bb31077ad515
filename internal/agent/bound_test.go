package agent

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func ids(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("r%d", i+1)
	}
	return strings.Join(l, ",")
}

func TestBoundText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"MAINT_ENTER " + ids(10) + " proxy", "MAINT_ENTER " + ids(10) + " proxy"},
		{"MAINT_ENTER " + ids(12000) + " proxy", "MAINT_ENTER " + ids(10) + " (+11990 more) proxy"},
		{"cannot maint_enter " + ids(11) + ": refused", "cannot maint_enter " + ids(10) + " (+1 more): refused"},
		{"a, b, c, d, e, f, g, h, i, j, k, l", "a, b, c, d, e, f, g, h, i, j, k, l"}, // prose, not a list
	} {
		if got := boundText(tc.in); got != tc.want {
			t.Errorf("boundText(%.60q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := boundText(strings.Repeat("é", maxTextBytes))
	if len(long) > maxTextBytes+30 || !strings.HasSuffix(long, fmt.Sprintf("(+%d bytes)", maxTextBytes)) {
		t.Errorf("boundText(long) = %d bytes, ends %q", len(long), long[len(long)-20:])
	}
	l := make([]string, 40000)
	for i := range l {
		l[i] = "routes[0].priority: not an int"
	}
	if got := boundList(l); len(got) != maxListItems+1 || got[maxListItems] != "(+39990 more)" {
		t.Errorf("boundList = %q", got)
	}
}

// TestMaintenanceLogLinesAreBounded: maintenance of many routes selected by
// one path sends one MAINT_ENTER naming every route id; the log lines show
// the first ids only.
func TestMaintenanceLogLinesAreBounded(t *testing.T) {
	const n = 30
	var routes strings.Builder
	routes.WriteString("routes:\n")
	for i := range n {
		routes.WriteString(routeYAML(fmt.Sprintf("m%d", i), fmt.Sprintf("m%d.example.com", i), "/m", "http://m:3000"))
	}
	f := newFixture(t, header+routes.String())
	var logs syncBuffer
	opts := f.options()
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	f.start(opts)
	f.await(EventConfigApplied)
	f.write(header + routes.String() + "maintenance:\n  enabled: true\n  targets: [/m]\n")
	f.await(EventMaintProxyEntered)
	f.stop()

	seen := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "MAINT_ENTER") {
			continue
		}
		seen++
		if strings.Count(line, ",r") > 2*(maxListItems-1) || !strings.Contains(line, fmt.Sprintf("(+%d more)", n-maxListItems)) {
			t.Errorf("unbounded maintenance line: %s", line)
		}
	}
	if seen == 0 {
		t.Fatalf("no MAINT_ENTER line in\n%s", logs.String())
	}
}
