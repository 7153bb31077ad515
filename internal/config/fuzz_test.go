package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fuzzLookup also supplies hostile values, so that interpolation cannot
// smuggle what the file itself may not contain.
func fuzzLookup(name string) (string, bool) {
	switch name {
	case "PIPE":
		return "a|b", true
	case "NL":
		return "a\nb", true
	case "LONG":
		return strings.Repeat("x", 70000), true
	}
	return testLookup(name)
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*/registry.yaml")
	files = append(files, "../../examples/registry.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n yaml.Node
		if len(data) < 1<<16 && yaml.Unmarshal(data, &n) == nil {
			if est, nodes := countNodeStarts(string(data)), countNodes(&n); est < nodes {
				t.Fatalf("node estimate %d < %d nodes", est, nodes)
			}
		}
		cfg, err := Parse(bytes.NewReader(data), ParseOptions{Filename: "f.yaml", Lookup: fuzzLookup, Hostname: "host"})
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v, want non-empty Errors", err, err)
			}
			for _, e := range es {
				if e.Msg == "" || e.Cause == nil {
					t.Fatalf("incomplete error %+v", e)
				}
			}
			return
		}
		checkWireSafe(t, cfg)
	})
}

// fuzzSeeds are the hand-written inputs of FuzzParse; TestErrorsGolden pins
// what Parse says about each.
func fuzzSeeds() [][]byte {
	return [][]byte{
		[]byte(minimal),
		[]byte(strings.Replace(minimal, "/\n", "/${PIPE}\n", 1)),
		[]byte(strings.Replace(minimal, "name: shop", "name: ${NL}", 1)),
		[]byte(minimal + "headers:\n  X-A: ${LONG}\n"),
		[]byte("a: &a [*a, *a]\nb: &b [*a, *a]\nproxy: *b\n"),
		// Hostile inputs: an alias bomb of bytes, many invalid routes, bad
		// bytes and tabs, prose, out-of-range ports and paths that cannot
		// match, tiny durations, routes too large for the route list.
		[]byte(aliasBomb(2_000, 200)),
		invalidRoutes(300),
		[]byte(strings.Replace(minimal, "name: web", "name: w\x00eb", 1)),
		[]byte(strings.Replace(minimal, "name: web", "name: w\xffeb", 1)),
		[]byte(strings.Replace(minimal, "    path: /", "\tpath: /", 1)),
		[]byte("Note: this file routes shop: to the backend\n"),
		[]byte(strings.Replace(minimal, "http://10.0.0.1:3000", "http://10.0.0.1:99999", 1)),
		[]byte(strings.Replace(minimal, "path: /\n", "path: /a?b#c\n", 1)),
		[]byte(minimal + "proxy_x: 1\n"),
		[]byte(strings.Replace(minimal, "address: registry:9000", "address: registry:9000\n  keepalive_interval: 1ns\n  backoff: {initial: 1ns, max: 1ns}", 1)),
		[]byte(minimal + "options: {timeout: \"" + strings.Repeat("0", 1000) + "1s\"}\n"),
		[]byte(longDomainRoutes(2)),
	}
}

// checkWireSafe walks an accepted Config: every string that goes on the
// wire is free of "|", CR and LF, and every command built from it fits the
// line budget (PROTOCOL.md §1).
func checkWireSafe(t *testing.T, cfg *Config) {
	t.Helper()
	sid := cfg.Service.Instance + "-1795652634-331452"
	check := func(what, s string) {
		if strings.ContainsAny(s, "|\r\n") {
			t.Fatalf("%s %q is not wire-safe", what, s)
		}
	}
	line := func(fields ...string) {
		for _, f := range fields {
			check(fields[0], f)
		}
		if n := len(strings.Join(fields, "|")); n >= lineBudget {
			t.Fatalf("%s line of %d bytes", fields[0], n)
		}
	}
	meta := make([]string, 0, len(cfg.Service.Metadata))
	for k, v := range cfg.Service.Metadata {
		check("metadata key", k)
		check("metadata value", v)
		meta = append(meta, strconv.Quote(k)+":"+strconv.Quote(v))
	}
	line("REGISTER", cfg.Service.Name, cfg.Service.Instance, strconv.Itoa(cfg.Service.MaintenancePort), "{"+strings.Join(meta, ",")+"}")
	for _, r := range cfg.Routes {
		check("route name", r.Name)
		line("ROUTE_ADD", sid, strings.Join(r.Domains, ","), r.Path, r.Backend, strconv.Itoa(r.Priority))
		if hc := r.HealthCheck; hc != nil {
			line("HEALTH_SET", sid, "r1", hc.Path, hc.Interval.String(), hc.Timeout.String())
		}
	}
	for k, v := range cfg.Options {
		line("OPTIONS_SET", sid, "ALL", k, v)
	}
	for k, v := range cfg.Headers {
		line("HEADERS_SET", sid, "ALL", k, v)
	}
	line("MAINT_ENTER", sid, "ALL", cfg.MaintenancePage("255.255.255.255"))
}
