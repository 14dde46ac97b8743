package promotion_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// renderedValues renders the test chart with setValues and returns .Values as the
// chart saw them (a template dumps them as JSON into a ConfigMap).
func renderedValues(t *testing.T, fr haulv1.FreightReference, setValues []any) map[string]any {
	t.Helper()
	dir := t.TempDir()
	writeChart(t, dir)
	dump := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\ndata:\n  values.json: {{ toJson .Values | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "chart/templates/dump.yaml"), []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := runIn(t, dir, fr, nil, step("helm-template", "h", map[string]any{
		"path": "chart", "outPath": "out/app.yaml", "releaseName": "app", "setValues": setValues,
	}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out/app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var cm struct {
			Metadata struct{ Name string }
			Data     map[string]string
		}
		if sigsyaml.Unmarshal([]byte(doc), &cm) != nil || cm.Metadata.Name != "values" {
			continue
		}
		out := map[string]any{}
		if err := json.Unmarshal([]byte(cm.Data["values.json"]), &out); err != nil {
			t.Fatalf("values dump: %v\n%s", err, b)
		}
		return out
	}
	t.Fatalf("no values dump in:\n%s", b)
	return nil
}

// hasKey reports whether any map in v has the key.
func hasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == key || hasKey(sub, key) {
				return true
			}
		}
	case []any:
		for _, sub := range x {
			if hasKey(sub, key) {
				return true
			}
		}
	}
	return false
}

// TestHelmSetValuesAreSetLiterally: --set syntax inside a value (commas, '=', braces,
// brackets, backslashes) is data, never more keys; keys still reach nested and indexed
// values.
func TestHelmSetValuesAreSetLiterally(t *testing.T) {
	vals := renderedValues(t, freight("1"), []any{
		map[string]any{"key": "image.tag", "value": "1.2.3,evil=INJECTED"},
		map[string]any{"key": "eq", "value": "a=b"},
		map[string]any{"key": "braces", "value": "{x}"},
		map[string]any{"key": "index", "value": "[0]"},
		map[string]any{"key": "escaped", "value": `\,`},
		map[string]any{"key": "nested.list[1].name", "value": "x,y=z"},
		map[string]any{"key": "kargo", "value": "p,q", "literal": true},
		map[string]any{"key": "number", "value": "3"},
	})
	want := map[string]any{
		"name":    "app",
		"image":   map[string]any{"tag": "1.2.3,evil=INJECTED"},
		"eq":      "a=b",
		"braces":  "{x}",
		"index":   "[0]",
		"escaped": `\,`,
		"nested":  map[string]any{"list": []any{nil, map[string]any{"name": "x,y=z"}}},
		"kargo":   "p,q",
		"number":  "3",
	}
	if !reflect.DeepEqual(vals, want) {
		t.Fatalf("values:\n got %#v\nwant %#v", vals, want)
	}
	if hasKey(vals, "evil") || hasKey(vals, "z") || hasKey(vals, "q") {
		t.Fatalf("a value added keys: %#v", vals)
	}
}

// TestHelmSetValueFromFreightCannotInjectKeys carries the hostile value in a Freight
// image tag through an expression, as an attacker who can push tags would.
func TestHelmSetValueFromFreightCannotInjectKeys(t *testing.T) {
	vals := renderedValues(t, freight("1.2.3,evil=INJECTED,image.repository=attacker.example/x"), []any{
		map[string]any{"key": "image.tag", "value": "${{ imageFrom('example.com/app').tag }}"},
	})
	img, _ := vals["image"].(map[string]any)
	if img["tag"] != "1.2.3,evil=INJECTED,image.repository=attacker.example/x" {
		t.Fatalf("image.tag = %#v", img["tag"])
	}
	if hasKey(vals, "evil") || hasKey(vals, "repository") {
		t.Fatalf("the Freight tag added keys: %#v", vals)
	}
}

// TestHelmSetValueKeyErrorsNameTheField: a key that would smuggle a second assignment
// is refused, naming setValues[i].key.
func TestHelmSetValueKeyErrorsNameTheField(t *testing.T) {
	dir := t.TempDir()
	writeChart(t, dir)
	res, _ := runIn(t, dir, freight("1"), nil, step("helm-template", "h", map[string]any{
		"path": "chart", "outPath": "out.yaml",
		"setValues": []any{map[string]any{"key": "a=b,c", "value": "x"}},
	}))
	mustFail(t, res, "setValues[0].key", `"a=b,c"`)
}
