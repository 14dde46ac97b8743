package steps

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

func TestAuthorized(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		ok          bool
	}{
		{"haul annotation for this stage", map[string]string{haulv1.AnnotationAuthorizedStage: "shop:uat"}, true},
		{"kargo annotation is honoured for migrating users", map[string]string{haulv1.AnnotationKargoAuthorizedStage: "shop:uat"}, true},
		{"glob over stages", map[string]string{haulv1.AnnotationAuthorizedStage: "shop:*"}, true},
		{"another stage", map[string]string{haulv1.AnnotationAuthorizedStage: "shop:prod"}, false},
		{"another project", map[string]string{haulv1.AnnotationAuthorizedStage: "other:uat"}, false},
		{"malformed value", map[string]string{haulv1.AnnotationAuthorizedStage: "uat"}, false},
		{"no annotation", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &unstructured.Unstructured{}
			app.SetNamespace("argocd")
			app.SetName("web")
			app.SetAnnotations(tt.annotations)
			err := authorized(app, "shop", "uat")
			if (err == nil) != tt.ok {
				t.Fatalf("authorized = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), `haul.dev/authorized-stage: "shop:uat"`) || !promotion.IsTerminal(err) {
					t.Errorf("error %q must name the missing annotation and be terminal", err)
				}
			}
		})
	}
}

func TestPushedRevision(t *testing.T) {
	sc := func(outputs map[string]any) *promotion.StepContext { return &promotion.StepContext{Outputs: outputs} }
	push := func(commit, branch, repo string) map[string]any {
		m := map[string]any{"commit": commit, "branch": branch}
		if repo != "" {
			m["repoURL"] = repo
		}
		return m
	}
	if rev, err := pushedRevision(sc(nil), "http://g/a.git"); rev != "" || err != nil {
		t.Errorf("no push: %q %v", rev, err)
	}
	if rev, _ := pushedRevision(sc(map[string]any{"push": push("abc", "stage/test", ""), "commit": map[string]any{"commit": "zzz"}}), "http://g/a.git"); rev != "abc" {
		t.Errorf("single push: %q, want its commit (git-commit outputs are not pushes)", rev)
	}
	if rev, _ := pushedRevision(sc(map[string]any{"push": push("", "stage/test", "")}), ""); rev != "stage/test" {
		t.Errorf("push without commit: %q, want the branch", rev)
	}
	two := sc(map[string]any{"p1": push("111", "b", "http://g/a.git"), "p2": push("222", "b", "http://g/b")})
	if rev, _ := pushedRevision(two, "http://g/b.git"); rev != "222" {
		t.Errorf("two pushes: %q, want the one whose repoURL matches", rev)
	}
	ambiguous := sc(map[string]any{"p1": push("111", "b", ""), "p2": push("222", "b", "")})
	if _, err := pushedRevision(ambiguous, "http://g/a.git"); err == nil || !strings.Contains(err.Error(), "p1, p2") {
		t.Errorf("ambiguous pushes: %v, want an error naming both steps", err)
	}
}

func TestSetKustomizeImage(t *testing.T) {
	images := []any{"registry.example/web:1.0.0", "registry.example/api=mirror.example/api:2.0.0", "localhost:5000/db@sha256:aa"}
	got := setKustomizeImage(slices.Clone(images), "registry.example/api", "registry.example/api:2.1.0")
	if got[1] != "registry.example/api:2.1.0" || len(got) != 3 {
		t.Errorf("replace by name: %v", got)
	}
	got = setKustomizeImage(slices.Clone(images), "localhost:5000/db", "localhost:5000/db:3")
	if got[2] != "localhost:5000/db:3" || len(got) != 3 {
		t.Errorf("a registry port is not a tag: %v", got)
	}
	got = setKustomizeImage(slices.Clone(images), "registry.example/new", "registry.example/new:1")
	if len(got) != 4 || got[3] != "registry.example/new:1" {
		t.Errorf("append: %v", got)
	}
}

func TestApplySourceUpdate(t *testing.T) {
	sc := &promotion.StepContext{Freight: haulv1.FreightReference{Images: []haulv1.Image{{RepoURL: "registry.example/web", Tag: "1.2.3", Digest: "sha256:bb"}}}}
	src := map[string]any{"repoURL": "http://g/deploy.git", "targetRevision": "main",
		"helm": map[string]any{"parameters": []any{map[string]any{"name": "image.tag", "value": "old"}}}}
	u := &argoCDSourceUpdate{RepoURL: "http://g/deploy.git", UpdateTargetRevision: true}
	u.Kustomize = &struct {
		Images []argoCDKustomizeImage `json:"images"`
	}{Images: []argoCDKustomizeImage{{RepoURL: "registry.example/web"}, {RepoURL: "registry.example/web", UseDigest: true, NewName: "mirror/web"}}}
	u.Helm = &struct {
		Images []argoCDHelmImage `json:"images"`
	}{Images: []argoCDHelmImage{{RepoURL: "registry.example/web", Key: "image.tag", Value: "Tag"}, {RepoURL: "registry.example/web", Key: "image.full"}}}
	if err := applySourceUpdate(sc, src, u, "abc123"); err != nil {
		t.Fatal(err)
	}
	if src["targetRevision"] != "abc123" {
		t.Errorf("targetRevision = %v", src["targetRevision"])
	}
	images := src["kustomize"].(map[string]any)["images"].([]any)
	if !slices.Equal(images, []any{"registry.example/web=mirror/web@sha256:bb"}) {
		t.Errorf("kustomize images = %v (the second override of the same image replaces the first)", images)
	}
	params := src["helm"].(map[string]any)["parameters"].([]any)
	if len(params) != 2 || params[0].(map[string]any)["value"] != "1.2.3" || params[1].(map[string]any)["value"] != "registry.example/web:1.2.3" {
		t.Errorf("helm parameters = %v", params)
	}
	missing := &argoCDSourceUpdate{RepoURL: "x"}
	missing.Helm = &struct {
		Images []argoCDHelmImage `json:"images"`
	}{Images: []argoCDHelmImage{{RepoURL: "registry.example/other", Key: "k"}}}
	if err := applySourceUpdate(sc, map[string]any{}, missing, ""); err == nil || !strings.Contains(err.Error(), "registry.example/other") {
		t.Errorf("an image the Freight lacks: %v", err)
	}
}

func TestRevisionMatches(t *testing.T) {
	sha := strings.Repeat("a", 40)
	for _, tt := range []struct {
		reported, want string
		ok             bool
	}{
		{"main@sha1:" + sha, sha, true},
		{sha, sha, true},
		{"main@sha1:" + sha, "main", true},
		{"main@sha1:" + strings.Repeat("b", 40), sha, false},
		{"", sha, false},
	} {
		if got := revisionMatches(tt.reported, tt.want); got != tt.ok {
			t.Errorf("revisionMatches(%q, %q) = %v", tt.reported, tt.want, got)
		}
	}
}

func TestJobName(t *testing.T) {
	a := JobName("verify-01abc", "smoke")
	if a != JobName("verify-01abc", "smoke") {
		t.Error("job names must be deterministic so a replay finds its Job")
	}
	if a == JobName("verify-01abd", "smoke") || a == JobName("verify-01abc", "smoke2") {
		t.Error("job names must differ per run and step")
	}
	long := JobName(strings.Repeat("Stage.", 30), "Step::Inner")
	if len(long) > 63 || strings.ContainsAny(long, ".:_") || strings.HasPrefix(long, "-") {
		t.Errorf("job name %q is not a valid DNS label", long)
	}
}
