package config

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// withServe is minimal with a maintenance port (or none) and a maintenance
// block.
func withServe(port, maintenance string) string {
	doc := minimal
	if port != "" {
		doc = strings.Replace(doc, "  name: shop\n", "  name: shop\n  maintenance_port: "+port+"\n", 1)
	}
	return doc + "maintenance:\n" + maintenance
}

// TestPageServerForms: the one line that turns the page server on, and
// how the port, bind address and page URL follow from what is written.
func TestPageServerForms(t *testing.T) {
	for _, tc := range []struct {
		name, port, maint string
		enabled           bool
		wantPort          int
		wantAddr, wantURL string
	}{
		{"one line", "8081", "  serve: true\n", true, 8081, ":8081", "http://10.1.2.3:8081/"},
		{"a mapping is on", "8081", "  serve:\n    title: Back soon\n", true, 8081, ":8081", "http://10.1.2.3:8081/"},
		{"a mapping turned off", "8081", "  serve:\n    enabled: false\n", false, 8081, "", "http://10.1.2.3:8081/"},
		{"off", "8081", "  serve: false\n", false, 8081, "", "http://10.1.2.3:8081/"},
		{"off needs no port", "", "  serve: false\n", false, 0, "", ""},
		{"empty", "8081", "  serve:\n", false, 8081, "", "http://10.1.2.3:8081/"},
		{"listen gives the port", "", "  serve:\n    listen: \":8090\"\n", true, 8090, ":8090", "http://10.1.2.3:8090/"},
		{"listen and the same port", "8090", "  serve:\n    listen: \":8090\"\n", true, 8090, ":8090", "http://10.1.2.3:8090/"},
		{"listen names the host", "", "  serve:\n    listen: 127.0.0.1:8090\n", true, 8090, "127.0.0.1:8090", "http://127.0.0.1:8090/"},
		{"listen names an IPv6 host", "", "  serve:\n    listen: \"[::1]:8090\"\n", true, 8090, "[::1]:8090", "http://[::1]:8090/"},
		{"listen on every interface", "", "  serve:\n    listen: 0.0.0.0:8090\n", true, 8090, "0.0.0.0:8090", "http://10.1.2.3:8090/"},
		{"a page with a name for this server", "8081", "  serve: true\n  page: http://shop-maint:8081/down\n", true, 8081, ":8081", "http://shop-maint:8081/down"},
		{"interpolated", "${PORT}", "  serve: ${ON:-true}\n", true, 3000, ":3000", "http://10.1.2.3:3000/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, withServe(tc.port, tc.maint))
			s := cfg.Maintenance.Serve
			if s.Enabled != tc.enabled || cfg.Service.MaintenancePort != tc.wantPort {
				t.Fatalf("serve.enabled=%v maintenance_port=%d, want %v %d", s.Enabled, cfg.Service.MaintenancePort, tc.enabled, tc.wantPort)
			}
			if tc.enabled {
				if got := cfg.PageServerAddress(); got != tc.wantAddr {
					t.Errorf("PageServerAddress = %q, want %q", got, tc.wantAddr)
				}
			}
			if got := cfg.MaintenancePage("10.1.2.3"); got != tc.wantURL {
				t.Errorf("MaintenancePage = %q, want %q", got, tc.wantURL)
			}
		})
	}
	cfg := mustParse(t, withServe("8081", "  serve:\n    title: T\n    message: M\n    file: page.html\n"))
	if s := cfg.Maintenance.Serve; s.Title != "T" || s.Message != "M" || s.File != "page.html" {
		t.Fatalf("serve = %+v", s)
	}
	// Without a known address of this host, the page URL cannot be made
	// unless listen names the host.
	if got := cfg.MaintenancePage(""); got != "" {
		t.Fatalf("MaintenancePage(\"\") = %q, want \"\"", got)
	}
}

// TestPageServerRefused: a page server the proxy could not be sent to, or
// one whose port is written twice differently, is refused where it is
// written.
func TestPageServerRefused(t *testing.T) {
	sch := compileSchema(t)
	for _, tc := range []struct {
		name, port, maint string
		want              string
		cause             error
		schemaRejects     bool
	}{
		{"no port", "", "  serve: true\n",
			"registry.yaml:11:10: maintenance.serve: needs a port: set service.maintenance_port (or maintenance.serve.listen, e.g. \":8081\")",
			ErrMissing, false},
		{"two ports", "8081", "  serve:\n    listen: \":8090\"\n",
			"registry.yaml:13:13: maintenance.serve.listen: port 8090 differs from service.maintenance_port (8081, line 5); the page is served and announced on one port: write it once",
			ErrInvalid, false},
		{"a page elsewhere", "8081", "  serve: true\n  page: http://cdn.example.com/down\n",
			"registry.yaml:13:9: maintenance.page: \"http://cdn.example.com/down\" does not lead to the page regagent serves (maintenance.serve: plain http on port 8081); remove it, and regagent registers \"http://${SELF_IP}:8081/\"",
			ErrInvalid, false},
		{"a page over https", "8081", "  serve: true\n  page: https://10.1.2.3:8081/\n",
			"registry.yaml:13:9: maintenance.page: \"https://10.1.2.3:8081/\" does not lead to the page regagent serves (maintenance.serve: plain http on port 8081); remove it, and regagent registers \"http://${SELF_IP}:8081/\"",
			ErrInvalid, false},
		{"not a boolean", "8081", "  serve: yes please\n",
			"registry.yaml:12:10: maintenance.serve: \"yes please\" is not a boolean (want true or false)",
			ErrType, true},
		{"a list", "8081", "  serve: [true]\n",
			"registry.yaml:12:10: maintenance.serve: must be a mapping, not a list",
			ErrType, true},
		{"unknown key", "8081", "  serve:\n    titel: x\n",
			"registry.yaml:13:5: maintenance.serve.titel: unknown key \"titel\" (did you mean \"title\"?)",
			ErrUnknownKey, true},
		{"listen without a port", "8081", "  serve:\n    listen: 10.0.0.1\n",
			"registry.yaml:13:13: maintenance.serve.listen: \"10.0.0.1\" is not host:port (e.g. \"registry.internal:9000\")",
			ErrInvalid, true},
		{"title too long", "8081", "  serve:\n    title: " + strings.Repeat("x", 257) + "\n",
			"registry.yaml:13:12: maintenance.serve.title: \"" + strings.Repeat("x", 60) + "\"... is 257 bytes long; the limit is 256",
			ErrTooLong, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := withServe(tc.port, tc.maint)
			got := parseErrors(t, doc)
			if !slices.Equal(got, []string{tc.want}) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
			_, err := Parse(strings.NewReader(doc), testOptions())
			if !errors.Is(err, tc.cause) {
				t.Errorf("errors.Is(err, %v) = false", tc.cause)
			}
			if rejects := sch.Validate(yamlToJSON(t, []byte(doc))) != nil; rejects != tc.schemaRejects {
				t.Errorf("schema rejects = %v, want %v", rejects, tc.schemaRejects)
			}
		})
	}
}

// TestPageServerSchemaAcceptsForms: an editor's schema check takes every
// form Parse takes.
func TestPageServerSchemaAcceptsForms(t *testing.T) {
	sch := compileSchema(t)
	for _, maint := range []string{
		"  serve: true\n",
		"  serve: ${SERVE}\n",
		"  serve:\n    enabled: true\n    listen: \":8081\"\n    title: Down\n    message: Back soon\n    file: page.html\n",
	} {
		if err := sch.Validate(yamlToJSON(t, []byte(withServe("8081", maint)))); err != nil {
			t.Errorf("%q: %v", maint, err)
		}
	}
}

// TestExampleServeBlock: the commented serve block of examples/registry.yaml,
// uncommented, is a valid file that serves the page the example names.
func TestExampleServeBlock(t *testing.T) {
	data, err := os.ReadFile("../../examples/registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := slices.Index(lines, "  # serve:")
	if start < 0 {
		t.Fatal("examples/registry.yaml has no commented serve block")
	}
	lines[start] = "  serve:"
	for i := start + 1; i < len(lines) && strings.HasPrefix(lines[i], "  #   "); i++ {
		lines[i] = "    " + strings.TrimPrefix(lines[i], "  #   ")
	}
	cfg, err := Parse(strings.NewReader(strings.Join(lines, "\n")), testOptions())
	if err != nil {
		t.Fatalf("uncommented: %v", err)
	}
	s := cfg.Maintenance.Serve
	if !s.Enabled || s.Title == "" || s.Message == "" || s.File != "maintenance.html" {
		t.Fatalf("serve = %+v", s)
	}
	if got, want := cfg.MaintenancePage("10.1.2.3"), "http://10.1.2.3:8081/maintenance"; got != want {
		t.Fatalf("MaintenancePage = %q, want %q", got, want)
	}
}
