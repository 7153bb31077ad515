package config

import (
	"errors"
	"strings"
	"testing"
)

// lineBudget is the client's budget for one command line (LineBudget in
// internal/client, which this package may not import; PROTOCOL.md §1).
const lineBudget = 60 << 10

// testLookup resolves SELF_IP and a few variables the tests use.
func testLookup(name string) (string, bool) {
	switch name {
	case "SELF_IP":
		return "10.1.2.3", true
	case "PORT":
		return "3000", true
	case "EMPTY":
		return "", true
	}
	return "", false
}

func testOptions() ParseOptions {
	return ParseOptions{Filename: "registry.yaml", Lookup: testLookup, Hostname: "host-1"}
}

func mustParse(tb testing.TB, doc string) *Config {
	tb.Helper()
	cfg, err := Parse(strings.NewReader(doc), testOptions())
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return cfg
}

// parseErrors returns Parse's error messages, one per element.
func parseErrors(tb testing.TB, doc string) []string {
	tb.Helper()
	_, err := Parse(strings.NewReader(doc), testOptions())
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		tb.Fatalf("Parse error %T %v, want Errors", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// minimal is a valid document; tests append to it or replace parts of it.
const minimal = `proxy:
  address: registry:9000
service:
  name: shop
routes:
  - name: web
    domains: [shop.example.com]
    path: /
    backend: http://10.0.0.1:3000
`
