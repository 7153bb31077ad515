package config

import (
	"errors"
	"strings"
	"testing"
)

// TestSyntaxErrorsArePositioned: every YAML syntax error carries a line and
// a column, and a tab in the indentation is named as the cause.
func TestSyntaxErrorsArePositioned(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // the whole first message
	}{
		{"NUL byte", strings.Replace(minimal, "name: web", "name: w\x00eb", 1),
			"registry.yaml:6:12: yaml: the file contains a NUL byte; it must be text"},
		{"invalid UTF-8", strings.Replace(minimal, "name: web", "name: wé\xffb", 1),
			"registry.yaml:6:13: yaml: invalid UTF-8 (byte 0xff); the file must be UTF-8 text"},
		{"control character", strings.Replace(minimal, "name: web", "name: w\x01eb", 1),
			"registry.yaml:6:12: yaml: control character U+0001 is not allowed"},
		{"tab indents a key", strings.Replace(minimal, "    path: /", "\tpath: /", 1),
			"registry.yaml:8:1: yaml: tab character used for indentation; YAML allows spaces only"},
		{"tab after spaces", strings.Replace(minimal, "    path: /", "  \t  path: /", 1),
			"registry.yaml:8:3: yaml: tab character used for indentation; YAML allows spaces only"},
		{"tab under a top-level key", "proxy:\n\taddress: r:1\n",
			"registry.yaml:2:1: yaml: tab character used for indentation; YAML allows spaces only"},
		{"error on the first line", "proxy: @r\n",
			"registry.yaml:1:1: yaml: found character that cannot start any token"},
		{"prose with colons", "Note: this file routes shop: to the backend\n",
			`registry.yaml:1:1: yaml: mapping values are not allowed in this context (a value that contains ": " must be quoted; is the file YAML?)`},
		{"prose", "This is my config. It sends shop.example.com to the backend.\n",
			"registry.yaml:1:1: the file must be a mapping of keys (proxy, service, routes, ...), not a string"},
		{"unknown alias", minimal + "headers: {X-A: *nope}\n",
			"registry.yaml:10:16: yaml: unknown anchor 'nope' referenced"},
		{"unclosed flow list", "proxy:\n  address: [a, b\n",
			"registry.yaml:1:1: yaml: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc), testOptions())
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("err=%v, want Errors", err)
			}
			if got := es[0].Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if es[0].Line == 0 || es[0].Col == 0 {
				t.Errorf("no position in %+v", es[0])
			}
		})
	}
}

// TestVariableErrorColumn: an unset variable is pointed at, also when it
// follows another reference in the same value.
func TestVariableErrorColumn(t *testing.T) {
	doc := strings.Replace(minimal, "http://10.0.0.1:3000", "http://${SELF_IP}:${NOPE}", 1)
	got := parseErrors(t, doc)
	want := "registry.yaml:9:32: routes[0].backend: variable NOPE is not set (give it a default with ${NOPE:-value})"
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors=%q, want %q", got, want)
	}
}
