package promotion_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

func step(uses, as string, cfg map[string]any) haulv1.PromotionStep {
	s := haulv1.PromotionStep{Uses: uses, As: as}
	if cfg != nil {
		raw, _ := json.Marshal(cfg)
		s.Config = &apiextensionsv1.JSON{Raw: raw}
	}
	return s
}

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# the base app
resources:
- ../../base
images:
- name: example.com/app
  newTag: 0.1.0 # set by Haul
`

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        image: example.com/app:latest
`

// gitopsRepo starts a git server with a repo holding base/ and stages/<names>/.
func gitopsRepo(t testing.TB, stages ...string) (*testservers.GitServer, string) {
	t.Helper()
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	files := map[string]string{
		"base/kustomization.yaml": "resources:\n- deployment.yaml\n",
		"base/deployment.yaml":    deployment,
	}
	for _, s := range stages {
		files["stages/"+s+"/kustomization.yaml"] = kustomization
	}
	if _, err := srv.SeedRepo("gitops", files); err != nil {
		t.Fatal(err)
	}
	return srv, srv.RepoURL("gitops")
}

func freight(tag string) haulv1.FreightReference {
	return haulv1.FreightReference{
		Name: "f" + tag, Alias: "brave-otter",
		Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images: []haulv1.Image{{RepoURL: "example.com/app", Tag: tag}},
	}
}

// sixSteps is the benchmark template: clone main and an orphan stage branch, clear,
// set the image, render, commit and push.
func sixSteps(repo, stage string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		step("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{
			map[string]any{"branch": "main", "path": "src"},
			map[string]any{"branch": "stage/" + stage, "create": true, "path": "out"},
		}}),
		step("git-clear", "clear", map[string]any{"path": "out"}),
		step("kustomize-set-image", "set", map[string]any{"path": "src/stages/" + stage, "images": []any{map[string]any{"image": "example.com/app"}}}),
		step("kustomize-build", "build", map[string]any{"path": "src/stages/" + stage, "outPath": "out/manifests.yaml"}),
		step("git-commit", "commit", map[string]any{"path": "out", "message": "promote ${{ ctx.targetFreight.name }}"}),
		step("git-push", "push", map[string]any{"path": "out"}),
	}
}

// editSteps clone main, set the image in stages/<stage> and push back to targetBranch.
func editSteps(repo, stage, target string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		step("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}),
		step("kustomize-set-image", "set", map[string]any{"path": "src/stages/" + stage}),
		step("git-commit", "commit", map[string]any{"path": "src", "message": "promote to " + stage}),
		step("git-push", "push", map[string]any{"path": "src", "targetBranch": target}),
	}
}

func newEngine(t testing.TB) *promotion.Engine {
	return &promotion.Engine{Registry: testSteps, Services: &promotion.Services{Git: gitx.New(filepath.Join(t.TempDir(), "cache"))}}
}

func run(t testing.TB, e *promotion.Engine, steps []haulv1.PromotionStep, fr haulv1.FreightReference, st promotion.State) (promotion.Result, promotion.State) {
	t.Helper()
	dir, err := os.MkdirTemp("", "haul-work-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	defer e.Services.Git.Reclaim(dir)
	return e.Run(context.Background(), promotion.Request{Project: "p", Stage: "test", Promotion: "p1", Freight: fr, Steps: steps, WorkDir: dir, State: st})
}

// testSteps is the registry every test engine runs from: the built-in steps plus the
// test-only ones the test files add in their init functions. Each built-in step is
// watched for outputs its output table lacks (see TestMain).
var testSteps = withOutputCheck(steps.Builtin())
