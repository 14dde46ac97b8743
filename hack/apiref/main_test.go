package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `package v1alpha1

// WidgetSpec says what a Widget wants.
type WidgetSpec struct {
	// Size is how big | how wide.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Maximum=10
	Size int32 ` + "`json:\"size,omitempty\"`" + `
	// Colour is the paint.
	// +required
	// +kubebuilder:validation:MaxLength=20
	Colour Colour ` + "`json:\"colour\"`" + `
	// Parts are the Widget's parts.
	// +optional
	// +kubebuilder:validation:MaxItems=5
	Parts []Part ` + "`json:\"parts,omitempty\"`" + `
}

// Colour is a paint colour.
// +kubebuilder:validation:Enum=Red;Blue
type Colour string

// Part is one part.
type Part struct {
	// Name names the part.
	// +required
	Name string ` + "`json:\"name\"`" + `
}

// Widget is a thing.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
type Widget struct {
	// Spec is the desired state.
	// +required
	Spec WidgetSpec ` + "`json:\"spec\"`" + `
}

// WidgetList is a list of Widgets.
// +kubebuilder:object:root=true
type WidgetList struct {
	Items []Widget ` + "`json:\"items\"`" + `
}
`

func TestReferenceShowsEveryFieldWithItsDocAndBounds(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "widget_types.go"), []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "api.md")
	if err := run(dir, out); err != nil {
		t.Fatalf("run: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"## Widget\n",
		"cluster-scoped",
		"| `size` | integer | Size is how big \\| how wide. | optional; default 3; max 10 |",
		"| `colour` | string | Colour is the paint. | required; one of Red, Blue; max length 20 |",
		"| `parts` | [][Part](#part) | Parts are the Widget's parts. | optional; max items 5 |",
		"### Part\n\nPart is one part.",
		"| `name` | string | Name names the part. | required |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %q; got:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "## WidgetList") {
		t.Errorf("list types are not kinds, but the reference has a WidgetList section:\n%s", doc)
	}

	again := filepath.Join(dir, "again.md")
	if err := run(dir, again); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(again); string(b2) != doc {
		t.Error("two runs over the same types wrote different references")
	}
}

func TestNoRootTypesIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package v1alpha1\n\ntype X struct{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(dir, filepath.Join(dir, "api.md"))
	if err == nil || !strings.Contains(err.Error(), "no root types") {
		t.Fatalf("run over a package with no kinds: got %v, want an error saying there are no root types", err)
	}
}
