package promotion_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// runAs runs steps for a Stage of project and reports whether the work dir ended up
// holding file.
func runAs(t *testing.T, e *promotion.Engine, project string, steps []haulv1.PromotionStep, file string) (promotion.Result, bool) {
	t.Helper()
	dir := t.TempDir()
	defer e.Services.Git.Reclaim(dir)
	res, _ := e.Run(context.Background(), promotion.Request{Project: project, Stage: "s", Promotion: project + "-p",
		Freight: freight("1"), Steps: steps, WorkDir: dir})
	_, err := os.Stat(filepath.Join(dir, file))
	return res, err == nil
}

// Project A promotes from its private repository, so the controller's Git cache holds
// it. A Stage of project B, with no credentials for that repository, must get nothing
// of it: not through a file:// URL or host path to the server's repository or to the
// cache's copy, and not through the https URL right after A fetched it.
func TestStageOfAnotherProjectCannotReadAPrivateRepositoryThroughTheController(t *testing.T) {
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := srv.SeedRepo("private", map[string]string{"secret.yaml": "project-a-only: true\n"}); err != nil {
		t.Fatal(err)
	}
	srv.Username, srv.Password = "a-bot", "a-pass"
	url := srv.RepoURL("private")
	cacheRoot := filepath.Join(t.TempDir(), "git-cache")
	cache := gitx.New(cacheRoot)
	projectA := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{Git: cache,
		Credentials: func(_ context.Context, credType, repoURL string) (string, string, bool, error) {
			return "a-bot", "a-pass", credType == "git" && repoURL == url, nil
		}}}
	projectB := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{Git: cache}}
	clone := func(repoURL string) []haulv1.PromotionStep {
		return []haulv1.PromotionStep{step("git-clone", "clone", map[string]any{"repoURL": repoURL,
			"checkout": []any{map[string]any{"branch": "main", "path": "src"}}})}
	}
	res, got := runAs(t, projectA, "a", clone(url), "src/secret.yaml")
	if res.Phase != haulv1.PromotionSucceeded || !got {
		t.Fatalf("project A's own clone: %s: %s", res.Phase, res.Message)
	}
	cached, _ := filepath.Glob(filepath.Join(cacheRoot, "*.git"))
	if len(cached) != 1 {
		t.Fatalf("cache holds %v, want project A's copy", cached)
	}
	for name, repoURL := range map[string]string{
		"file URL of the server's repository":  "file://" + filepath.Join(srv.Root, "private.git"),
		"absolute path of the server's repo":   filepath.Join(srv.Root, "private.git"),
		"path of the controller's cached copy": cached[0],
		"file URL of the cached copy":          "file://" + cached[0],
		"relative path":                        "../../" + filepath.Base(cached[0]),
	} {
		t.Run(name, func(t *testing.T) {
			res, got := runAs(t, projectB, "b", clone(repoURL), "src/secret.yaml")
			mustFail(t, res, fmt.Sprintf("repoURL %q: only https, http and ssh remotes are allowed", repoURL))
			if got {
				t.Fatal("project B's work dir holds project A's file")
			}
		})
	}
	t.Run("https URL without project A's credentials", func(t *testing.T) {
		res, got := runAs(t, projectB, "b", clone(url), "src/secret.yaml")
		mustFail(t, res, "fetching "+url)
		if got || strings.Contains(res.Message, "project-a-only") {
			t.Fatal("project B got project A's content")
		}
	})
}
