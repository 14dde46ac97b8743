package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// stepRun is one direct invocation of a built-in step in a work dir.
type stepRun struct {
	dir     string
	freight haulv1.FreightReference
}

// newStepRun returns a run in a fresh work dir holding files (path → contents).
func newStepRun(t *testing.T, files map[string]string) *stepRun {
	t.Helper()
	r := &stepRun{dir: t.TempDir(), freight: haulv1.FreightReference{Name: "f1", Alias: "brave-otter"}}
	for p, c := range files {
		full := filepath.Join(r.dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// run calls step with cfg the way the engine does (config already evaluated).
func (r *stepRun) run(t *testing.T, step func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any) (promotion.StepResult, error) {
	t.Helper()
	sc := &promotion.StepContext{
		WorkDir: r.dir, Project: "shop", Stage: "uat", Promotion: "uat.01", Alias: "step",
		Freight: r.freight, Config: cfg, Attempt: 1,
	}
	res, err := step(context.Background(), sc)
	assertOutputsListed(t, step, cfg, res)
	return res, err
}

// mustRun is run that fails the test on an error.
func (r *stepRun) mustRun(t *testing.T, step func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any) promotion.StepResult {
	t.Helper()
	res, err := r.run(t, step, cfg)
	if err != nil {
		t.Fatalf("step failed: %v", err)
	}
	return res
}

// read returns a file of the work dir, or "<missing>".
func (r *stepRun) read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, p))
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exists reports whether p exists in the work dir (a link counts, not its target).
func (r *stepRun) exists(p string) bool {
	_, err := os.Lstat(filepath.Join(r.dir, p))
	return err == nil
}

// wantErr fails unless err is non-nil and holds every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error holding %q, got none", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q lacks %q", err, p)
		}
	}
}
