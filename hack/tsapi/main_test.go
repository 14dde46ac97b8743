package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.haul.dev
spec:
  group: haul.dev
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1alpha0
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, properties: {old: {type: string}}}}
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a test kind.
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, description: "Size in */ units."}
              mode: {type: string, enum: [Fast, Slow]}
              port: {x-kubernetes-int-or-string: true}
              labels: {type: object, additionalProperties: {type: string}}
              items:
                type: array
                items: {type: object, required: [name], properties: {name: {type: string}}}
              raw: {type: object, x-kubernetes-preserve-unknown-fields: true}
              "odd-key": {type: boolean}
`

// The generated types follow the storage version's schema: required fields
// without "?", enums as literal unions, maps as Records, nested objects inline,
// and a description cannot close its comment early.
func TestGenerateFollowsTheStorageSchema(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "widgets.yaml"), []byte(sampleCRD), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := string(src)
	for _, want := range []string{
		"export interface Widget {",
		"  metadata: ObjectMeta;",
		"  spec: {",
		"    size: number;",
		`    mode?: "Fast" | "Slow";`,
		"    port?: number | string;",
		"    labels?: Record<string, string>;",
		"      name: string;\n    }[];",
		"    raw?: Record<string, unknown>;",
		`    "odd-key"?: boolean;`,
		"Size in *\\/ units.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("generated types lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old") {
		t.Errorf("a non-storage version leaked into the types:\n%s", got)
	}
}

func TestGenerateRefusesADirectoryWithoutCRDs(t *testing.T) {
	if _, err := generate(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no CustomResourceDefinition") {
		t.Fatalf("err = %v, want it to say no CRD was found", err)
	}
}
