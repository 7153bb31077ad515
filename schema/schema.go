// Package schema holds the JSON Schema (draft 2020-12) of regagent's
// configuration file, for editors and for tests. Editors can use it with
// `# yaml-language-server: $schema=../schema/registry.schema.json`.
// internal/config's tests keep it in sync with the Go types.
package schema

import (
	_ "embed"
	"slices"
)

//go:embed registry.schema.json
var registry []byte

// JSON returns the schema document (a copy: callers may modify it).
func JSON() []byte { return slices.Clone(registry) }
