package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// chartDir is the copy of a chart's sources at the version the stack key
// pins by default (tests/testdata/charts/README.md).
func chartDir(t *testing.T, chart, versionKey string) string {
	t.Helper()
	dir := filepath.Join("testdata", "charts", chart, Default(t, versionKey))
	_, err := os.Stat(dir)
	require.NoError(t, err, "the default pin of %s has no copy of the chart's sources: refresh tests/testdata/charts (see its README)", versionKey)
	return dir
}

// jsonTree is v as encoding/json reads it back: the form a schema checks.
func jsonTree(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var tree any
	require.NoError(t, json.Unmarshal(raw, &tree))
	return tree
}

// schemaCheck holds a JSON schema both as a tree (for the key walk) and
// compiled (for validation).
type schemaCheck struct {
	tree     map[string]any
	compiled *jsonschema.Schema
}

func newSchemaCheck(t *testing.T, tree map[string]any) schemaCheck {
	t.Helper()
	raw, err := json.Marshal(tree)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	require.NoError(t, c.AddResource("mem://schema.json", bytes.NewReader(raw)))
	compiled, err := c.Compile("mem://schema.json")
	require.NoError(t, err)
	return schemaCheck{tree: tree, compiled: compiled}
}

// readSchema reads a JSON schema file (a chart's values.schema.json).
func readSchema(t *testing.T, path string) schemaCheck {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var tree map[string]any
	require.NoError(t, json.Unmarshal(raw, &tree))
	return newSchemaCheck(t, tree)
}

// crdSchema is the openAPIV3Schema of one version of a CRD file.
func crdSchema(t *testing.T, path, version string) schemaCheck {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &crd))
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			return newSchemaCheck(t, v.Schema.OpenAPIV3Schema)
		}
	}
	require.Failf(t, "version missing", "%s has no version %s", path, version)
	return schemaCheck{}
}

// check asserts that v passes the schema and sets no key it does not
// declare. The second matters where the schema leaves additional
// properties open: Helm would take a misspelt key silently, and the API
// server prunes (or, strict, refuses) an unknown field.
func (s schemaCheck) check(t *testing.T, v any) {
	t.Helper()
	tree := jsonTree(t, v)
	assert.NoError(t, s.compiled.Validate(tree))
	assert.Empty(t, unknownKeys(s.tree, tree, ""), "keys the schema does not declare")
}

// unknownKeys lists the paths in v that schema s does not declare: an object
// schema with properties admits those and whatever its additionalProperties
// schema admits; one without properties is free-form (resources, metadata).
func unknownKeys(s map[string]any, v any, path string) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range v {
				out = append(out, unknownKeys(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		extra, _ := s["additionalProperties"].(map[string]any)
		for k, e := range v {
			sub, declared := props[k].(map[string]any)
			switch {
			case declared:
				out = append(out, unknownKeys(sub, e, path+"."+k)...)
			case extra != nil:
				out = append(out, unknownKeys(extra, e, path+"."+k)...)
			case props != nil:
				out = append(out, path+"."+k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestUnknownKeys: the walk finds a misspelt key at any depth, through
// additionalProperties schemas and arrays, and leaves free-form maps alone.
func TestUnknownKeys(t *testing.T) {
	t.Parallel()
	schema := map[string]any{"properties": map[string]any{
		"deployment": map[string]any{"properties": map[string]any{"kind": map[string]any{}}},
		"ports": map[string]any{"additionalProperties": map[string]any{
			"properties": map[string]any{"hostPort": map[string]any{}}}},
		"list":      map[string]any{"items": map[string]any{"properties": map[string]any{"a": map[string]any{}}}},
		"resources": map[string]any{"type": "object"},
	}}
	v := map[string]any{
		"deployment": map[string]any{"kind": "DaemonSet", "kidn": "x"},
		"ports":      map[string]any{"web": map[string]any{"hostPort": 80, "hostport": 80}},
		"list":       []any{map[string]any{"a": 1}, map[string]any{"b": 2}},
		"resources":  map[string]any{"limits": map[string]any{"memory": "1Gi"}},
		"extra":      true,
	}
	assert.Equal(t, []string{".deployment.kidn", ".extra", ".list[1].b", ".ports.web.hostport"}, unknownKeys(schema, v, ""))
}
