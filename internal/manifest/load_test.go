package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDirectoriesStdinAndLists(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n")
	write("b.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b1"}}, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b2"}}]}`)
	write("notes.txt", "not a manifest")
	write("sub/c.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, resourceVersion: '7', uid: x, managedFields: []}\nstatus: {x: 1}\n")

	names := func(docs []Document) string {
		var out []string
		for _, d := range docs {
			out = append(out, d.Object.GetName())
		}
		return strings.Join(out, ",")
	}
	docs, err := Load([]string{dir}, false, nil)
	if err != nil || names(docs) != "a,b1,b2" {
		t.Fatalf("flat: %s %v", names(docs), err)
	}
	docs, err = Load([]string{dir}, true, nil)
	if err != nil || names(docs) != "a,b1,b2,c" {
		t.Fatalf("recursive: %s %v", names(docs), err)
	}
	c := docs[3].Object
	if c.GetResourceVersion() != "" || c.GetUID() != "" || c.Object["status"] != nil || docs[1].Source != filepath.Join(dir, "b.json")+"#1[0]" {
		t.Fatalf("server fields kept or bad source: %v %s", c.Object, docs[1].Source)
	}
	docs, err = Load([]string{"-"}, false, strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in}\n"))
	if err != nil || names(docs) != "in" || docs[0].Source != "stdin#1" {
		t.Fatalf("stdin: %v %v", docs, err)
	}

	for name, bad := range map[string]string{
		"no kind":     "apiVersion: v1\nmetadata: {name: x}\n",
		"no name":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
		"not yaml":    "apiVersion: [\n",
		"missing dir": "",
	} {
		var err error
		if bad == "" {
			_, err = Load([]string{filepath.Join(dir, "nope")}, false, nil)
		} else {
			_, err = Load([]string{"-"}, false, strings.NewReader(bad))
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestNullFieldsAreDroppedAsTheAPIServerDoes: Kargo's documents often leave `spec:`
// with only a comment under it (null in YAML); the API server prunes such nulls from a
// custom resource, so apply accepts them instead of refusing `spec: null`.
func TestNullFieldsAreDroppedAsTheAPIServerDoes(t *testing.T) {
	y := "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: example\nspec:\n  # ...\n" +
		"---\napiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: example}\n" +
		"spec:\n  interval: null\n  subscriptions:\n  - image: {repoURL: ghcr.io/acme/app, constraint: null}\n"
	docs := load(t, y)
	if _, err := Validate(docs, Cluster{}); err != nil {
		t.Fatalf("refused: %v", err)
	}
	if _, has := docs[0].Object.Object["spec"]; has {
		t.Errorf("project spec kept: %v", docs[0].Object.Object)
	}
	img := docs[1].Object.Object["spec"].(map[string]any)["subscriptions"].([]any)[0].(map[string]any)["image"].(map[string]any)
	if _, has := img["constraint"]; has {
		t.Errorf("null constraint kept: %v", img)
	}
	// A Secret is not a Haul object: its nulls are left for its own API to judge.
	docs = load(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: null\n")
	if _, has := docs[0].Object.Object["stringData"]; !has {
		t.Errorf("a Secret's null field was dropped")
	}
}
