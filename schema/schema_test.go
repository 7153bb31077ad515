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
