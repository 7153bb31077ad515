package reconcile

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"regagent/internal/client"
	"regagent/internal/config"
)

// The planner trusts a desired state: it comes from a config that
// config.Parse accepted. Each state the planner once refused itself is a
// file Parse refuses, so none of them is ever planned.
func TestInvalidConfigNeverReachesThePlanner(t *testing.T) {
	route := func(name, domains, path, backend string) string {
		return "  - {name: " + strconv.Quote(name) + ", domains: [" + domains + "], path: " + strconv.Quote(path) +
			", backend: " + strconv.Quote(backend) + "}\n"
	}
	ok := route("a", "x.com", "/", "http://a")
	for name, tt := range map[string]struct{ routes, rest, where string }{
		"no scheme":        {route("a", "x.com", "/", "localhost:3000"), "", "routes[0].backend"},
		"pipe":             {route("a", "x.com", "/a|b", "http://a"), "", "routes[0].path"},
		"CR":               {route("a", "x.com", "/a\rb", "http://a"), "", "routes[0].path"},
		"LF in a header":   {ok, "headers: {X: \"a\\nb\"}\n", "headers.X"},
		"reserved release": {route("release#0", "x.com", "/", "http://a"), "", "routes[0].name"},
		"no leading slash": {route("a", "x.com", "api", "http://a"), "", "routes[0].path"},
		"overlap":          {route("a", "x.com, y.com", "/", "http://a") + route("b", "y.com", "/", "http://b"), "", "routes[1].domains[0]"},
		"bad duration":     {ok, "options: {timeout: soon}\n", "options.timeout"},
		"comma in domain":  {route("a", `"x.com,y.com"`, "/", "http://a"), "", "routes[0].domains[0]"},
		"reserved name":    {route("orphan#1", "x.com", "/", "http://a"), "", "routes[0].name"},
	} {
		t.Run(name, func(t *testing.T) {
			doc := "proxy: {address: \"r:1\"}\nservice: {name: svc}\nroutes:\n" + tt.routes + tt.rest
			_, err := config.Parse(strings.NewReader(doc), config.ParseOptions{Hostname: "h"})
			if err == nil || !strings.Contains(err.Error(), " "+tt.where+": ") {
				t.Fatalf("Parse: %v, want an error at %s", err, tt.where)
			}
		})
	}
}

// A desired state built by hand, not from a parsed file, is not trusted
// by the wire: every field of every command is checked by the client, and
// a value the framing cannot carry is refused before anything of it is
// written (§1).
func TestHandBuiltDesiredIsCheckedAtTheWire(t *testing.T) {
	const leak = "INJECTED"
	for name, build := range map[string]func() *config.Config{
		"pipe in a backend": func() *config.Config { return conf(rt("a", "x.com", "/", "http://a|"+leak)) },
		"CR in a path":      func() *config.Config { return conf(rt("a", "x.com", "/a\r"+leak, "http://a")) },
		"LF in a header": func() *config.Config {
			c := conf(rt("a", "x.com", "/", "http://a"))
			c.Headers = map[string]string{"X": "v\n" + leak}
			return c
		},
		"pipe in an option": func() *config.Config {
			c := conf(rt("a", "x.com", "/", "http://a"))
			c.Options = map[string]string{"timeout": "30s|" + leak}
			return c
		},
		"comma in a domain": func() *config.Config {
			return conf(config.Route{Name: "a", Domains: []string{"x.com," + leak + ".com"}, Path: "/", Backend: "http://a"})
		},
		"pipe in a health check path": func() *config.Config {
			return conf(withHealth(rt("a", "x.com", "/", "http://a"), "/h|"+leak))
		},
		"pipe in the maintenance page": func() *config.Config {
			c := conf(rt("a", "x.com", "/", "http://a"))
			c.Maintenance = config.Maintenance{Enabled: true, Page: "http://m/|" + leak}
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if err := h.try(desired(build())); !errors.Is(err, client.ErrUnsafeField) {
				t.Fatalf("err = %v, want client.ErrUnsafeField", err)
			}
			for _, line := range h.srv.Commands() {
				if strings.Contains(line, leak) {
					t.Fatalf("the server received %q", line)
				}
			}
		})
	}
}
