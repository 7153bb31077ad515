package schema_test

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"regagent/schema"
)

func TestJSONCompiles(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("registry.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("registry.schema.json")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	ok := map[string]any{
		"proxy":   map[string]any{"address": "r:9000"},
		"service": map[string]any{"name": "shop"},
		"routes":  []any{},
	}
	if err := sch.Validate(ok); err != nil {
		t.Errorf("minimal document: %v", err)
	}
	delete(ok, "routes")
	if err := sch.Validate(ok); err == nil {
		t.Error("document without routes validates")
	}
}

func TestJSONReturnsACopy(t *testing.T) {
	a := schema.JSON()
	a[0] = 'x'
	if b := schema.JSON(); b[0] != '{' {
		t.Errorf("JSON()[0]=%q after a caller modified its copy", b[0])
	}
}

// TestJSONBoundsPortsAndPaths: the schema refuses what the loader refuses
// where a pattern can say it: ports outside 1-65535 (alone or in a URL)
// and route paths with a query or a fragment.
func TestJSONBoundsPortsAndPaths(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("registry.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("registry.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	file := func(address, status, path, backend string) map[string]any {
		return map[string]any{
			"proxy":   map[string]any{"address": address},
			"service": map[string]any{"name": "shop"},
			"status":  map[string]any{"address": status},
			"routes": []any{map[string]any{"name": "web", "domains": []any{"a.example.com"},
				"path": path, "backend": backend}},
		}
	}
	if err := sch.Validate(file("r:65535", ":1", "/api", "http://u:p@[::1]:65535/x?y#z")); err != nil {
		t.Errorf("valid ports and path: %v", err)
	}
	for _, bad := range []map[string]any{
		file("r:65536", ":9090", "/", "http://h:1"),
		file("r:0", ":9090", "/", "http://h:1"),
		file("r:1", ":99999", "/", "http://h:1"),
		file("r:1", ":9090", "/", "http://h:99999"),
		file("r:1", ":9090", "/", "https://u:p@h:0/"),
		file("r:1", ":9090", "/a?b", "http://h:1"),
		file("r:1", ":9090", "/a#b", "http://h:1"),
	} {
		if err := sch.Validate(bad); err == nil {
			t.Errorf("schema accepts %v", bad)
		}
	}
}
