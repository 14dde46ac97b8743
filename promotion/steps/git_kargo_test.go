package steps

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// gitRun is a stepRun whose steps share a Git cache, against a local Git server
// holding repository "gitops" with files.
func gitRun(t *testing.T, files map[string]string) (*stepRun, *promotion.Services, string) {
	t.Helper()
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := srv.SeedRepo("gitops", files); err != nil {
		t.Fatal(err)
	}
	return newStepRun(t, nil), &promotion.Services{Git: gitx.New(filepath.Join(t.TempDir(), "cache"))}, srv.RepoURL("gitops")
}

func (r *stepRun) runWith(t *testing.T, svc *promotion.Services, step func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any) (promotion.StepResult, error) {
	t.Helper()
	sc := &promotion.StepContext{WorkDir: r.dir, Project: "shop", Stage: "uat", Promotion: "uat.01", Alias: "step",
		Freight: r.freight, Config: cfg, Attempt: 1, Services: svc}
	res, err := step(context.Background(), sc)
	assertOutputsListed(t, step, cfg, res)
	return res, err
}

func TestGitCloneSparseAndAsThenCommitAndPushKeepTheRest(t *testing.T) {
	r, svc, repo := gitRun(t, map[string]string{
		"apps/web/values.yaml": "tag: 1\n", "apps/api/values.yaml": "tag: 1\n", "README.md": "hi\n",
	})
	res, err := r.runWith(t, svc, gitClone, map[string]any{"repoURL": repo, "checkout": []any{
		map[string]any{"branch": "main", "path": "src", "sparse": []any{"apps/web"}, "as": "main"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if commits, _ := res.Output["commits"].(map[string]any); commits["main"] == "" || commits["main"] == nil {
		t.Fatalf("commits output %v lacks the alias main", res.Output)
	}
	if !r.exists("src/apps/web/values.yaml") || r.exists("src/apps/api/values.yaml") {
		t.Fatalf("sparse checkout: web=%v api=%v, want only web", r.exists("src/apps/web/values.yaml"), r.exists("src/apps/api/values.yaml"))
	}
	r.mustRun(t, fileWrite, map[string]any{"path": "src/apps/web/values.yaml", "contents": "tag: 2\n", "overwrite": true})
	commit, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "web to 2"})
	if err != nil {
		t.Fatal(err)
	}
	push, err := r.runWith(t, svc, gitPush, map[string]any{"path": "src"})
	if err != nil {
		t.Fatal(err)
	}
	if push.Output["commit"] != commit.Output["commit"] || push.Output["branch"] != "main" {
		t.Fatalf("push output %v, commit output %v", push.Output, commit.Output)
	}
	// A full clone of what was pushed still has the directories sparse left out.
	full := newStepRun(t, nil)
	if _, err := full.runWith(t, svc, gitClone, map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "all"}}}); err != nil {
		t.Fatal(err)
	}
	if got := full.read(t, "all/apps/api/values.yaml"); got != "tag: 1\n" {
		t.Fatalf("apps/api/values.yaml after a sparse push = %q", got)
	}
	if got := full.read(t, "all/apps/web/values.yaml"); got != "tag: 2\n" {
		t.Fatalf("apps/web/values.yaml = %q, want the pushed change", got)
	}
}

func TestGitCloneRefusesBadSparseDirs(t *testing.T) {
	r := newStepRun(t, nil)
	for _, d := range []string{"apps/*", "/abs", "../up", "a/.git"} {
		_, err := r.run(t, gitClone, map[string]any{"repoURL": "https://example.com/r.git", "checkout": []any{
			map[string]any{"path": "src", "sparse": []any{d}}}})
		wantErr(t, err, "checkout[0].sparse[0]", d)
	}
}

func TestGitCommitIsSkippedWithNothingToCommitAndNeedsAMessage(t *testing.T) {
	r, svc, repo := gitRun(t, map[string]string{"a.txt": "a\n"})
	if _, err := r.runWith(t, svc, gitClone, map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "nothing"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != promotion.StatusSkipped || res.Output["commit"] == "" {
		t.Fatalf("status %q output %v, want Skipped with the current commit", res.Status, res.Output)
	}
	_, err = r.runWith(t, svc, gitCommit, map[string]any{"path": "src"})
	wantErr(t, err, `missing required field "config.message"`)
}

func TestGitPushCommitURL(t *testing.T) {
	tests := []struct {
		url, provider, want string
	}{
		{"https://github.com/acme/gitops.git", "", "https://github.com/acme/gitops/commit/abc"},
		{"https://gitlab.com/acme/sub/gitops.git", "", "https://gitlab.com/acme/sub/gitops/-/commit/abc"},
		{"https://bitbucket.org/acme/gitops", "", "https://bitbucket.org/acme/gitops/commits/abc"},
		{"https://git.example.com/acme/gitops.git", "gitea", "https://git.example.com/acme/gitops/commit/abc"},
		{"https://dev.azure.com/org/proj/_git/gitops", "", "https://dev.azure.com/org/proj/_git/gitops/commit/abc"},
		{"https://user:secret@github.com/acme/gitops.git", "", "https://github.com/acme/gitops/commit/abc"},
		{"https://git.example.com/acme/gitops.git", "", ""},
	}
	for _, tt := range tests {
		if got := commitURL(tt.url, tt.provider, "abc"); got != tt.want {
			t.Errorf("commitURL(%q, %q) = %q, want %q", tt.url, tt.provider, got, tt.want)
		}
	}
}
