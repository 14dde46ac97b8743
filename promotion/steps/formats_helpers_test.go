package steps

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/haul-dev/haul/promotion"
)

// runStepIn runs one step function in dir with cfg, as the engine would after
// evaluating expressions.
func runStepIn(t *testing.T, dir string, fn func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any) (promotion.StepResult, error) {
	t.Helper()
	sc := &promotion.StepContext{WorkDir: dir, Project: "p", Stage: "test", Promotion: "p1", Config: cfg, Attempt: 1}
	res, err := fn(context.Background(), sc)
	assertOutputsListed(t, fn, cfg, res)
	return res, err
}

// writeFiles creates files (relative path → contents) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFile returns the contents of dir/rel, failing the test if it cannot.
func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// outputs builds a parse step's outputs list from name/expression pairs.
func outputs(pairs ...string) []any {
	var out []any
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, map[string]any{"name": pairs[i], "fromExpression": pairs[i+1]})
	}
	return out
}

// keyOf names an object for a controller-runtime Get.
func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
