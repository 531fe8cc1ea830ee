package config

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const (
	schemaFile = "../../docs/express.schema.json"
	docFile    = "../../docs/config.md"
)

// yamlFields lists the YAML fields of a struct type, with their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// structOf is the struct type a field holds (through pointers, slices
// and maps), nil for a scalar or a type with its own YAML decoding.
func structOf(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		return t
	}
	return nil
}

// walkConfig calls fn with the documented path of every YAML field of the
// config (tls.ca_file, workflows[].dedup.size) and its schema node.
func walkConfig(t *testing.T, schema map[string]any, fn func(path string, node map[string]any)) {
	defs, _ := schema["$defs"].(map[string]any)
	resolve := func(n map[string]any) map[string]any {
		if ref, ok := n["$ref"].(string); ok {
			d, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			return d
		}
		return n
	}
	var walk func(typ reflect.Type, node map[string]any, prefix string)
	walk = func(typ reflect.Type, node map[string]any, prefix string) {
		props, _ := node["properties"].(map[string]any)
		fields := yamlFields(typ)
		for name, ft := range fields {
			path := prefix + name
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: the schema has no property %q", schemaFile, path)
				continue
			}
			p = resolve(p)
			fn(path, p)
			if st := structOf(ft); st != nil {
				if ft.Kind() == reflect.Slice {
					items, _ := p["items"].(map[string]any)
					walk(st, resolve(items), path+"[].")
				} else {
					walk(st, p, path+".")
				}
			}
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: property %q is no field of %s", schemaFile, prefix+name, typ)
			}
		}
		if node["additionalProperties"] != false {
			t.Errorf("%s: %q must set additionalProperties: false (unknown fields are errors)", schemaFile, strings.TrimSuffix(prefix, "."))
		}
	}
	walk(reflect.TypeFor[File](), schema, "")
}

func readSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaAndDocsMatchStructs: every YAML field of the config structs
// is a property of the JSON Schema (and no other property is), and is
// documented in docs/config.md as `path`.
func TestSchemaAndDocsMatchStructs(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	schema := readSchema(t)
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema is %v, want draft 2020-12", schema["$schema"])
	}
	n := 0
	walkConfig(t, schema, func(path string, node map[string]any) {
		n++
		if !bytes.Contains(doc, []byte("`"+path+"`")) {
			t.Errorf("%s does not document `%s`", docFile, path)
		}
	})
	if n < 30 {
		t.Fatalf("only %d fields walked", n)
	}
}

// compileSchema compiles docs/express.schema.json.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlToJSON decodes YAML text into the values the validator takes.
func yamlToJSON(t *testing.T, text []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestSchemaValidatesConfigs: the examples' express.yaml files and the
// configs the tests accept are valid under the schema, and mistakes the
// loader refuses are refused by the schema too.
func TestSchemaValidatesConfigs(t *testing.T) {
	s := compileSchema(t)
	files, err := filepath.Glob("../../examples/*/express.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	good := map[string][]byte{"goodYAML": []byte(goodYAML)}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good[f] = b
	}
	for _, name := range slices.Sorted(maps.Keys(good)) {
		if err := s.Validate(yamlToJSON(t, good[name])); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Parse(good[name]); err != nil {
			t.Errorf("%s: Parse: %v", name, err)
		}
	}
	for _, bad := range []string{
		"workflows: [{definition: a.json, topics: [a], topic: b}]",         // unknown field
		"workflows: [{definition: a.json, topics: [a], ordering: random}]", // not an ordering
		"drain_timeout: soon\nworkflows: [{definition: a.json, topics: [a]}]",
		"workflows: [{definition: a.json, topics: [a], concurrency: -1}]",
		"workflows: [{definition: a.json, topics: [a], resources: {r: 3}}]",
		"workflows: [{definition: a.json, topics: [\"bad topic\"]}]",
		"sasl: {mechanism: GSSAPI, username: u}\nworkflows: [{definition: a.json, topics: [a]}]",
		"workflows: []",
		"brokers: [nohostport]\nworkflows: [{definition: a.json, topics: [a]}]",
	} {
		if err := s.Validate(yamlToJSON(t, []byte(bad))); err == nil {
			t.Errorf("the schema accepts %q", bad)
		}
	}
}
