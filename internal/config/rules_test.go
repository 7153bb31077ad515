package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func withService(block string) string {
	return strings.Replace(minimal, "service:\n  name: shop\n", "service:\n"+block, 1)
}

func withProxy(block string) string {
	return strings.Replace(minimal, "proxy:\n  address: registry:9000\n", "proxy:\n"+block, 1)
}

// placeholders expands markers for values too long to write in a table.
func placeholders(doc string) string {
	domains := make([]string, 101)
	for i := range domains {
		domains[i] = fmt.Sprintf("d%d.example.com", i)
	}
	meta := make([]string, 5)
	for i := range meta {
		meta[i] = fmt.Sprintf("k%d: %s", i, strings.Repeat("v", 4000))
	}
	return strings.NewReplacer(
		"NAME129", strings.Repeat("a", 129),
		"DOMAINS101", "["+strings.Join(domains, ", ")+"]",
		"BIG4097", strings.Repeat("x", 4097),
		"META", "{"+strings.Join(meta, ", ")+"}",
	).Replace(doc)
}

// TestValidationRules covers every rule with its exact message and position.
// minimal ends on line 9, so appended text starts on line 10.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts *ParseOptions
		want []string
	}{
		{name: "unknown top key with suggestion", doc: minimal + "optons: {}\n", want: []string{"registry.yaml:10:1: optons: unknown key \"optons\" (did you mean \"options\"?)"}},
		{name: "unknown nested key lists known keys", doc: minimal + "shutdown: {foo: 1}\n", want: []string{"registry.yaml:10:12: shutdown.foo: unknown key \"foo\" (known: mode, drain_timeout)"}},
		{name: "duplicate key", doc: minimal + "reload: {}\nreload: {}\n", want: []string{"registry.yaml:11:1: reload: key \"reload\" is repeated (first at line 10)"}},
		{name: "wrong type", doc: minimal + "headers: [a]\n", want: []string{"registry.yaml:10:10: headers: must be a mapping, not a list"}},
		{name: "boolean", doc: minimal + "allow_mass_removal: maybe\n", want: []string{"registry.yaml:10:21: allow_mass_removal: \"maybe\" is not a boolean (want true or false)"}},
		{name: "merge keys unsupported", doc: minimal + "x: &x {mode: drain}\nshutdown: {<<: *x}\n", want: []string{"registry.yaml:10:1: x: unknown key \"x\" (known: proxy, service, routes, options, headers, maintenance, shutdown, status, reload, reconcile, state, allow_mass_removal)", "registry.yaml:11:12: shutdown[\"<<\"]: merge keys (<<) are not supported; repeat the keys or use an alias for the whole value"}},
		{name: "route name charset", doc: minimal + "  - name: my route\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:10:11: routes[1].name: \"my route\" is not a valid name (use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)"}},
		{name: "route name too long", doc: minimal + "  - name: NAME129\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:10:11: routes[1].name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... is 129 bytes long; the limit is 128"}},
		{name: "duplicate route name", doc: minimal + "  - name: web\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:10:11: routes[1].name: route name \"web\" is already used by routes[0] (line 6)"}},
		{name: "route fields missing", doc: minimal + "  - name: api\n", want: []string{"registry.yaml:10:5: routes[1].domains: is required", "registry.yaml:10:5: routes[1].path: is required", "registry.yaml:10:5: routes[1].backend: is required"}},
		{name: "domains empty list", doc: minimal + "  - name: api\n    domains: []\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:14: routes[1].domains: must list at least 1 entry"}},
		{name: "domain wildcard", doc: minimal + "  - name: api\n    domains: [\"*.example.com\"]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:15: routes[1].domains[0]: \"*.example.com\" is a wildcard, but the proxy matches host names exactly; list every host name"}},
		{name: "domain upper case", doc: minimal + "  - name: api\n    domains: [Api.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:15: routes[1].domains[0]: \"Api.example.com\" must be lower case (the proxy compares host names exactly)"}},
		{name: "domain with port", doc: minimal + "  - name: api\n    domains: [api.example.com:443]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:15: routes[1].domains[0]: \"api.example.com:443\" has a port or is an IPv6 address; write the host name only"}},
		{name: "domain with scheme", doc: minimal + "  - name: api\n    domains: [https://api.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:15: routes[1].domains[0]: \"https://api.example.com\" is not a host name (write the host only, without scheme or path)"}},
		{name: "domain bad label", doc: minimal + "  - name: api\n    domains: [-api.example.com, a..b, a_b.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:15: routes[1].domains[0]: \"-api.example.com\" is not a valid host name (dot-separated labels of letters, digits and \"-\")", "registry.yaml:11:33: routes[1].domains[1]: \"a..b\" is not a valid host name (dot-separated labels of letters, digits and \"-\")", "registry.yaml:11:39: routes[1].domains[2]: \"a_b.com\" is not a valid host name (dot-separated labels of letters, digits and \"-\")"}},
		{name: "domain listed twice", doc: minimal + "  - name: api\n    domains: [a.example.com, a.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:30: routes[1].domains[1]: \"a.example.com\" is listed twice"}},
		{name: "domain and path already routed", doc: minimal + "  - name: api\n    domains: [a.example.com, shop.example.com]\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:30: routes[1].domains[1]: \"shop.example.com\" with path \"/\" is already routed by route \"web\" (line 6); the proxy keys routes by host and path"}},
		{name: "too many domains", doc: minimal + "  - name: api\n    domains: DOMAINS101\n    path: /\n    backend: http://h:1\n", want: []string{"registry.yaml:11:14: routes[1].domains: lists 101 entries; the limit is 100"}},
		{name: "path without slash", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: api\n    backend: http://h:1\n", want: []string{"registry.yaml:12:11: routes[1].path: \"api\" must start with \"/\""}},
		{name: "path with space", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /a b\n    backend: http://h:1\n", want: []string{"registry.yaml:12:11: routes[1].path: \"/a b\" contains white space or control characters"}},
		{name: "path with pipe", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /a|b\n    backend: http://h:1\n", want: []string{"registry.yaml:12:11: routes[1].path: \"/a|b\" contains \"|\", which the registry protocol cannot carry (it separates fields)"}},
		{name: "backend without scheme", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: backend:3000\n", want: []string{"registry.yaml:13:14: routes[1].backend: \"backend:3000\" has no scheme (want http://, https://, ws:// or wss://)"}},
		{name: "backend scheme", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: ftp://h:21\n", want: []string{"registry.yaml:13:14: routes[1].backend: \"ftp://h:21\" has scheme \"ftp\" (want http://, https://, ws:// or wss://)"}},
		{name: "backend without host", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://:3000\n", want: []string{"registry.yaml:13:14: routes[1].backend: \"http://:3000\" has no host"}},
		{name: "backend unparseable", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://[::1\n", want: []string{"registry.yaml:13:14: routes[1].backend: \"http://[::1\" is not a valid URL: missing ']' in host"}},
		{name: "backend unset variable", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://${BACKEND_HOST}:3000\n", want: []string{"registry.yaml:13:21: routes[1].backend: variable BACKEND_HOST is not set (give it a default with ${BACKEND_HOST:-value})"}},
		{name: "priority not an integer", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n    priority: high\n", want: []string{"registry.yaml:14:15: routes[1].priority: \"high\" is not an integer"}},
		{name: "health check timeout not below interval", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n    health_check: {path: /h, interval: 5s, timeout: 5s}\n", want: []string{"registry.yaml:14:53: routes[1].health_check.timeout: 5s must be shorter than the interval (5s)"}},
		{name: "health check missing fields", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n    health_check: {path: h}\n", want: []string{"registry.yaml:14:19: routes[1].health_check.interval: is required", "registry.yaml:14:19: routes[1].health_check.timeout: is required", "registry.yaml:14:26: routes[1].health_check.path: \"h\" must start with \"/\""}},
		{name: "health check duration without unit", doc: minimal + "  - name: api\n    domains: [a.example.com]\n    path: /\n    backend: http://h:1\n    health_check: {path: /h, interval: 10, timeout: 1s}\n", want: []string{"registry.yaml:14:40: routes[1].health_check.interval: \"10\" is not a duration (want a number with a unit, e.g. \"100ms\", \"30s\", \"5m\")"}},
		{name: "options unknown key", doc: minimal + "options: {retries: 3}\n", want: []string{"registry.yaml:10:11: options.retries: unknown option \"retries\"; known options: compression, health_check_interval, health_check_timeout, http2, http3, timeout, websocket"}},
		{name: "options typed values", doc: minimal + "options: {websocket: \"yes\", timeout: 0s, http2: true, health_check_interval: soon}\n", want: []string{"registry.yaml:10:22: options.websocket: \"yes\" is not true or false", "registry.yaml:10:38: options.timeout: \"0s\" is not a positive duration (e.g. \"30s\")", "registry.yaml:10:78: options.health_check_interval: \"soon\" is not a positive duration (e.g. \"30s\")"}},
		{name: "header name", doc: minimal + "headers: {\"X Bad\": a}\n", want: []string{"registry.yaml:10:11: headers[\"X Bad\"]: \"X Bad\" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`~ only)"}},
		{name: "header value control characters", doc: minimal + "headers: {X-A: \"a\\tb\", X-B: \"a\\rb\", X-C: \"a\\u0001b\"}\n", want: []string{"registry.yaml:10:29: headers.X-B: \"a\\rb\" contains a line break, which the registry protocol cannot carry (it ends commands)", "registry.yaml:10:42: headers.X-C: \"a\\x01b\" contains control characters"}},
		{name: "header names case-insensitive", doc: minimal + "headers: {X-Id: a, x-id: b}\n", want: []string{"registry.yaml:10:20: headers.x-id: header \"x-id\" is also set as \"X-Id\" (line 10); header names are case-insensitive"}},
		{name: "service name unsafe", doc: withService("  name: \"a|b\"\n"), want: []string{"registry.yaml:4:9: service.name: \"a|b\" contains \"|\", which the registry protocol cannot carry (it separates fields)"}},
		{name: "service name charset", doc: withService("  name: my shop\n"), want: []string{"registry.yaml:4:9: service.name: \"my shop\" is not a valid name (use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)"}},
		{name: "instance line break", doc: withService("  name: shop\n  instance: \"a\\nb\"\n"), want: []string{"registry.yaml:5:13: service.instance: \"a\\nb\" contains a line break, which the registry protocol cannot carry (it ends commands)"}},
		{name: "instance unknown", doc: minimal, opts: &ParseOptions{Filename: "registry.yaml"}, want: []string{"registry.yaml:4:3: service.instance: is required (it defaults to the host name, which is not known here)"}},
		{name: "metadata entries", doc: withService("  name: shop\n  metadata: {\"\": a, k: \"a|b\", big: BIG4097}\n"), want: []string{"registry.yaml:5:14: service.metadata[\"\"]: key must not be empty", "registry.yaml:5:24: service.metadata.k: \"a|b\" contains \"|\", which the registry protocol cannot carry (it separates fields)", "registry.yaml:5:36: service.metadata.big: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"... is 4097 bytes long; the limit is 4096"}},
		{name: "metadata total size", doc: withService("  name: shop\n  metadata: META\n"), want: []string{"registry.yaml:5:13: service.metadata: is 20041 bytes as JSON; the limit is 16384"}},
		{name: "maintenance port and cidr", doc: withService("  name: shop\n  maintenance_port: 70000\n  ip_cidr: 10.0.0.0\n"), want: []string{"registry.yaml:5:21: service.maintenance_port: must be between 1 and 65535 (got 70000)", "registry.yaml:6:12: service.ip_cidr: \"10.0.0.0\" is not a CIDR block (e.g. \"10.0.0.0/8\")"}},
		{name: "maintenance targets", doc: minimal + "maintenance: {enabled: true, targets: [web, /, shop.example.com, /admin, \"\"]}\n", want: []string{"registry.yaml:10:66: maintenance.targets[3]: \"/admin\" matches no route name, path or domain", "registry.yaml:10:74: maintenance.targets[4]: must not be empty"}},
		{name: "maintenance targets inert while off", doc: minimal + "maintenance: {targets: [/admin, \"\"]}\n", want: []string{"registry.yaml:10:33: maintenance.targets[1]: must not be empty"}},
		{name: "maintenance until and page", doc: minimal + "maintenance: {until: \"2026-11-26 18:00\", page: \"ftp://h/\"}\n", want: []string{"registry.yaml:10:22: maintenance.until: \"2026-11-26 18:00\" is not an RFC 3339 time (e.g. \"2026-11-26T18:00:00Z\")", "registry.yaml:10:48: maintenance.page: \"ftp://h/\" has scheme \"ftp\" (want http:// or https://)"}},
		{name: "maintenance page unsafe", doc: minimal + "maintenance: {page: \"http://h/a|b\"}\n", want: []string{"registry.yaml:10:21: maintenance.page: \"http://h/a|b\" contains \"|\", which the registry protocol cannot carry (it separates fields)"}},
		{name: "shutdown values", doc: minimal + "shutdown: {mode: off, drain_timeout: -1s}\n", want: []string{"registry.yaml:10:18: shutdown.mode: \"off\" is not one of deregister, drain, keep", "registry.yaml:10:38: shutdown.drain_timeout: must be a positive duration (got -1s)"}},
		{name: "status address", doc: minimal + "status: {address: localhost}\n", want: []string{"registry.yaml:10:19: status.address: \"localhost\" is not host:port (e.g. \"registry.internal:9000\")"}},
		{name: "proxy address missing", doc: withProxy("  dial_timeout: 1s\n"), want: []string{"registry.yaml:2:3: proxy.address: is required"}},
		{name: "proxy address port", doc: withProxy("  address: registry:70000\n"), want: []string{"registry.yaml:2:12: proxy.address: \"registry:70000\" has port \"70000\"; want a number from 1 to 65535"}},
		{name: "proxy durations", doc: withProxy("  address: r:1\n  dial_timeout: 0s\n  keepalive_interval: -5s\n"), want: []string{"registry.yaml:3:17: proxy.dial_timeout: must be a positive duration (got 0s)", "registry.yaml:4:23: proxy.keepalive_interval: must be a positive duration (got -5s)"}},
		{name: "backoff", doc: withProxy("  address: r:1\n  backoff: {initial: 1s, max: 500ms, multiplier: 0.5}\n"), want: []string{"registry.yaml:3:31: proxy.backoff.max: 500ms must not be shorter than initial (1s)", "registry.yaml:3:50: proxy.backoff.multiplier: must be at least 1 (got 0.5)"}},
		{name: "reload values", doc: minimal + "reload: {debounce: 2m, poll_interval: 10ms}\n", want: []string{"registry.yaml:10:20: reload.debounce: must be at most 1m (got 2m0s)", "registry.yaml:10:39: reload.poll_interval: must be 0 (off) or at least 1s (got 10ms)"}},
		{name: "reconcile values", doc: minimal + "reconcile: {drift_interval: 500ms, mass_removal_threshold: 0}\n", want: []string{"registry.yaml:10:29: reconcile.drift_interval: must be 0 (off) or at least 1s (got 500ms)", "registry.yaml:10:60: reconcile.mass_removal_threshold: must be greater than 0 (got 0)"}},
		{name: "invalid variable reference", doc: minimal + "reload:\n  debounce: 1s${1X}\n", want: []string{"registry.yaml:11:15: reload.debounce: invalid variable reference \"${1X}\" (want ${NAME} or ${NAME:-default}; write $$ for a literal $)"}},
		{name: "unterminated variable reference", doc: minimal + "reload: {debounce: \"${X\"}\n", want: []string{"registry.yaml:10:20: reload.debounce: unterminated variable reference \"${X\" (want ${NAME} or ${NAME:-default})"}},
		{name: "yaml syntax error", doc: "proxy:\n  address: r:1\n bad: [\n", want: []string{"registry.yaml:2:3: yaml: did not find expected key"}},
		{name: "more than one document", doc: minimal + "---\nproxy: {}\n", want: []string{"registry.yaml:10:1: the file holds more than one YAML document"}},
		{name: "empty file", doc: "# nothing yet\n", want: []string{"registry.yaml:1:1: the file is empty (it must declare at least proxy, service and routes)"}},
		{name: "routes missing", doc: "proxy: {address: r:1}\nservice: {name: s}\n", want: []string{"registry.yaml:1:1: routes: is required (write \"routes: []\" to remove every route on purpose)"}},
		{name: "routes null", doc: "proxy: {address: r:1}\nservice: {name: s}\nroutes:\n", want: []string{"registry.yaml:3:1: routes: is empty (list the routes, or write \"routes: []\" to remove every route on purpose)"}},
		{name: "routes not a list", doc: "proxy: {address: r:1}\nservice: {name: s}\nroutes: {web: x}\n", want: []string{"registry.yaml:3:9: routes: must be a list, not a mapping"}},
		{name: "file not a mapping", doc: "- proxy\n", want: []string{"registry.yaml:1:1: the file must be a mapping of keys (proxy, service, routes, ...), not a list"}},
		{name: "errors in file order", doc: "routes:\n  - name: a b\n    domains: [x]\n    path: p\n    backend: http://h:1\nservice: {name: \"s|\"}\nproxy: {address: nope}\n", want: []string{"registry.yaml:2:11: routes[0].name: \"a b\" is not a valid name (use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)", "registry.yaml:4:11: routes[0].path: \"p\" must start with \"/\"", "registry.yaml:6:17: service.name: \"s|\" contains \"|\", which the registry protocol cannot carry (it separates fields)", "registry.yaml:7:18: proxy.address: \"nope\" is not host:port (e.g. \"registry.internal:9000\")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			if tt.opts != nil {
				opts = *tt.opts
			}
			_, err := Parse(strings.NewReader(placeholders(tt.doc)), opts)
			var got []string
			var es Errors
			if errors.As(err, &es) {
				for _, e := range es {
					got = append(got, e.Error())
				}
			} else if err != nil {
				t.Fatalf("err=%v (%T), want Errors", err, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s\ngo:%#v", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), got)
			}
		})
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// 1,000 routes that are all one alias, each with 1,000 domains that are
	// one alias: a 10 KB file asking for a million nodes.
	domains := "[" + strings.TrimSuffix(strings.Repeat("a.example.com, ", 1000), ", ") + "]"
	doc := "d: &d " + domains + "\nr: &r {name: x, path: /, backend: \"http://h:1\", domains: *d}\n" +
		"proxy: {address: r:1}\nservice: {name: s}\nroutes: [" + strings.TrimSuffix(strings.Repeat("*r, ", 1000), ", ") + "]\n"
	errs := parseErrors(t, doc)
	if !strings.Contains(strings.Join(errs, "\n"), "aliases or variables expand the document too much") {
		t.Errorf("errors=%q", errs)
	}
}
