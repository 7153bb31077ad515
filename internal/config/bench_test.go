package config

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// routesFile generates a valid file with n routes.
func routesFile(n int) []byte {
	var b strings.Builder
	b.WriteString("proxy:\n  address: registry:9000\nservice:\n  name: shop\n  instance: shop-1\nroutes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: route-%d\n    domains: [r%d.example.com, www.r%d.example.com]\n    path: /api/v%d\n    backend: http://${SELF_IP}:%d\n    priority: %d\n",
			i, i, i, i, 3000+i%1000, i%10)
		if i%10 == 0 {
			b.WriteString("    health_check: {path: /healthz, interval: 10s, timeout: 2s}\n")
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := routesFile(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := Parse(bytes.NewReader(data), testOptions())
		if err != nil || len(cfg.Routes) != 10_000 {
			b.Fatalf("routes=%v err=%v", cfg, err)
		}
	}
}

// BenchmarkParseSmall shows the fixed cost of a Parse (validator included).
func BenchmarkParseSmall(b *testing.B) {
	data := []byte(minimal)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), testOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParserSmall is BenchmarkParseSmall with one Parser held, as
// Watch holds it: the validator is built once.
func BenchmarkParserSmall(b *testing.B) {
	data := []byte(minimal)
	ps := NewParser()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ps.Parse(bytes.NewReader(data), testOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewParser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewParser()
	}
}

// BenchmarkYAMLNodeBaseline is yaml.v3 alone turning the same file into
// nodes: the floor under BenchmarkParse.
func BenchmarkYAMLNodeBaseline(b *testing.B) {
	data := routesFile(10_000)
	b.ReportAllocs()
	for b.Loop() {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			b.Fatal(err)
		}
	}
}
