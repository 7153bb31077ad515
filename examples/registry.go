package examples

import (
	_ "embed"
	"slices"
)

//go:embed registry.yaml
var registry []byte

// Registry returns examples/registry.yaml (a copy: callers may modify it).
func Registry() []byte { return slices.Clone(registry) }
