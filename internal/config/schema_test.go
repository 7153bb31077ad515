package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"regagent/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*/errors.txt")

func compileSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON()))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("registry.schema.json", doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile("registry.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	return sch
}

// yamlToJSON converts a YAML document to the values a JSON parser would
// produce, by node tag, as an editor's YAML language server does.
func yamlToJSON(tb testing.TB, data []byte) any {
	tb.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		tb.Fatal(err)
	}
	if len(n.Content) == 0 {
		return nil
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		switch n.Kind {
		case yaml.AliasNode:
			return conv(n.Alias)
		case yaml.MappingNode:
			m := make(map[string]any)
			for i := 0; i+1 < len(n.Content); i += 2 {
				m[n.Content[i].Value] = conv(n.Content[i+1])
			}
			return m
		case yaml.SequenceNode:
			s := make([]any, 0, len(n.Content))
			for _, c := range n.Content {
				s = append(s, conv(c))
			}
			return s
		}
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			return strings.EqualFold(n.Value, "true")
		case "!!int", "!!float":
			return json.Number(n.Value)
		}
		return n.Value
	}
	return conv(n.Content[0])
}

func TestExampleAndFixturesMatchSchema(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("testdata/valid/*/registry.yaml")
	files = append(files, "../../examples/registry.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s: schema: %v", f, err)
		}
		if _, err := Parse(bytes.NewReader(data), testOptions()); err != nil {
			t.Errorf("%s: Parse: %v", f, err)
		}
	}
}

// TestInvalidFixtures checks that each invalid fixture fails Parse with the
// errors in its errors.txt, and fails the schema too unless a schema-passes
// file says why the schema cannot express the rule.
func TestInvalidFixtures(t *testing.T) {
	sch := compileSchema(t)
	dirs, _ := filepath.Glob("testdata/invalid/*")
	if len(dirs) == 0 {
		t.Fatal("no fixtures")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "registry.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(bytes.NewReader(data), ParseOptions{Filename: "registry.yaml", Lookup: testLookup, Hostname: "h"})
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			golden := filepath.Join(dir, "errors.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := os.ReadFile(golden)
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("Parse errors:\n%s\nwant:\n%s", got, want)
			}
			_, passes := os.Stat(filepath.Join(dir, "schema-passes"))
			schemaErr := sch.Validate(yamlToJSON(t, data))
			switch {
			case passes == nil && schemaErr != nil:
				t.Errorf("schema rejects it, but schema-passes says it cannot: %v", schemaErr)
			case passes != nil && schemaErr == nil:
				t.Error("schema accepts it")
			}
		})
	}
}

// TestSchemaInSyncWithTypes walks the Go types and the schema together:
// every yaml key is a schema property and the reverse, required keys agree,
// and the enums match the Go values.
func TestSchemaInSyncWithTypes(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(schema.JSON(), &root); err != nil {
		t.Fatal(err)
	}
	defs := root["$defs"].(map[string]any)
	// resolve follows $ref; of an anyOf (a shorthand beside the mapping,
	// as maintenance.serve has) it takes the object branch.
	var resolve func(s map[string]any) map[string]any
	resolve = func(s map[string]any) map[string]any {
		for {
			if ref, ok := s["$ref"].(string); ok {
				s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
				continue
			}
			branches, _ := s["anyOf"].([]any)
			for _, b := range branches {
				if r := resolve(b.(map[string]any)); r["type"] == "object" {
					return r
				}
			}
			return s
		}
	}
	// Keys that are required by validation but have a default, or required
	// by the decoder rather than a tag.
	defaulted := map[string]bool{"service.instance": true}
	extraRequired := map[string]bool{"routes": true, "proxy": true, "service": true}

	var walk func(t reflect.Type, s map[string]any, path string)
	walk = func(typ reflect.Type, s map[string]any, path string) {
		s = resolve(s)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Slice:
			if s["type"] != "array" {
				t.Errorf("%s: schema type %v, want array", path, s["type"])
				return
			}
			walk(typ.Elem(), s["items"].(map[string]any), path+"[]")
			return
		case reflect.Struct:
			if typ == reflect.TypeFor[Duration]() || typ.String() == "time.Time" {
				return
			}
		default:
			return
		}
		props, _ := s["properties"].(map[string]any)
		if s["type"] != "object" || s["additionalProperties"] != false {
			t.Errorf("%s: schema must be a closed object", path)
		}
		var required []string
		reqs, _ := s["required"].([]any)
		for _, r := range reqs {
			required = append(required, r.(string))
		}
		seen := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || name == "" {
				continue
			}
			key := strings.TrimPrefix(path+"."+name, ".")
			seen[name] = true
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: in the Go types, not in the schema", key)
				continue
			}
			tagRequired := strings.HasPrefix(f.Tag.Get("validate"), "required") && !defaulted[key]
			if got, want := slices.Contains(required, name), tagRequired || extraRequired[key]; got != want {
				t.Errorf("%s: schema required=%v, want %v", key, got, want)
			}
			if f.Type.Kind() != reflect.Map {
				walk(f.Type, p, key)
			}
		}
		for name := range props {
			if !seen[name] {
				t.Errorf("%s: in the schema, not in the Go types", strings.TrimPrefix(path+"."+name, "."))
			}
		}
	}
	walk(reflect.TypeFor[Config](), root, "")

	// Enums and option keys.
	mode := resolve(defs["shutdown"].(map[string]any))["properties"].(map[string]any)["mode"].(map[string]any)
	var modes []string
	for _, m := range mode["enum"].([]any) {
		modes = append(modes, m.(string))
	}
	if want := []string{string(ShutdownDeregister), string(ShutdownDrain), string(ShutdownKeep)}; !slices.Equal(modes, want) {
		t.Errorf("shutdown modes %v, want %v", modes, want)
	}
	var opts []string
	for k := range root["properties"].(map[string]any)["options"].(map[string]any)["properties"].(map[string]any) {
		opts = append(opts, k)
	}
	slices.Sort(opts)
	if !slices.Equal(opts, OptionKeys()) {
		t.Errorf("schema options %v, want %v", opts, OptionKeys())
	}
}
