package steps

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

func TestGitTagCreatesAnAnnotatedTagThatCanBePushed(t *testing.T) {
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := srv.SeedRepo("gitops", map[string]string{"app.yaml": "tag: 1.0\n"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	svc := &promotion.Services{Git: gitx.New(filepath.Join(t.TempDir(), "cache"))}
	clone := &promotion.StepContext{WorkDir: dir, Services: svc, Config: map[string]any{
		"repoURL":  srv.RepoURL("gitops"),
		"checkout": []any{map[string]any{"branch": "main", "path": "src"}},
	}}
	if _, err := gitClone(ctx, clone); err != nil {
		t.Fatal(err)
	}
	tag := func(cfg map[string]any) (promotion.StepResult, error) {
		return gitTag(ctx, &promotion.StepContext{WorkDir: dir, Services: svc, Config: cfg})
	}
	w, err := gitx.Open(ctx, filepath.Join(dir, "src"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	head := w.Head(ctx)

	res, err := tag(map[string]any{"path": "src", "tag": "v1.0.0", "message": "Release 1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["commit"] != head {
		t.Errorf("commit output = %v, want HEAD %s", res.Output["commit"], head)
	}
	if typ, _ := w.Git(ctx, "cat-file", "-t", "refs/tags/v1.0.0"); typ != "tag" {
		t.Errorf("refs/tags/v1.0.0 is a %q object, want an annotated tag", typ)
	}
	if msg, _ := w.Git(ctx, "tag", "-l", "--format=%(contents)", "v1.0.0"); msg != "Release 1.0.0" {
		t.Errorf("tag message = %q", msg)
	}

	// The tag reaches the server like any ref: push it through the real http-backend.
	if _, err := w.Git(ctx, "push", "-q", "origin", "refs/tags/v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if got, err := srv.RevParse("gitops", "v1.0.0^{commit}"); err != nil || got != head {
		t.Errorf("server's v1.0.0 = %q (%v), want %s", got, err, head)
	}

	t.Run("an existing tag is refused without force", func(t *testing.T) {
		_, err := tag(map[string]any{"path": "src", "tag": "v1.0.0", "message": "again"})
		if err == nil || !strings.Contains(err.Error(), `tag "v1.0.0" already exists`) || !promotion.IsTerminal(err) {
			t.Fatalf("err = %v, want a terminal 'already exists' error", err)
		}
	})
	t.Run("force moves the tag to the new HEAD", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"src/app.yaml": "tag: 1.1\n"})
		next, _, err := w.CommitAll(ctx, "bump")
		if err != nil {
			t.Fatal(err)
		}
		res, err := tag(map[string]any{"path": "src", "tag": "v1.0.0", "message": "moved", "force": true})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := w.Git(ctx, "rev-parse", "v1.0.0^{commit}"); got != next || res.Output["commit"] != next {
			t.Errorf("v1.0.0 points at %s (output %v), want %s", got, res.Output["commit"], next)
		}
	})
	for name, tc := range map[string]struct {
		cfg     map[string]any
		wantErr string
	}{
		"an invalid tag name":             {map[string]any{"path": "src", "tag": "v1..0", "message": "m"}, `tag "v1..0" is not a valid Git tag name`},
		"a tag that looks like an option": {map[string]any{"path": "src", "tag": "--delete", "message": "m"}, "must not start with '-'"},
		"a path that is not a work tree":  {map[string]any{"path": "nowhere", "tag": "v2", "message": "m"}, `path "nowhere"`},
		"a path outside the work dir":     {map[string]any{"path": "../x", "tag": "v2", "message": "m"}, `path "../x"`},
		"a missing message":               {map[string]any{"path": "src", "tag": "v2"}, `"config.message"`},
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			_, err := tag(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestGitPushTagPushesTheTagOnly(t *testing.T) {
	r, svc, repo := gitRun(t, map[string]string{"app.yaml": "tag: 1.0\n"})
	if _, err := r.runWith(t, svc, gitClone, map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.runWith(t, svc, gitTag, map[string]any{"path": "src", "tag": "v1.0.0", "message": "Release 1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	head := res.Output["commit"]
	push, err := r.runWith(t, svc, gitPush, map[string]any{"path": "src", "tag": "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if push.Output["commit"] != head || push.Output["branch"] != "main" {
		t.Errorf("outputs %v, want commit %v on main", push.Output, head)
	}
	remote, err := gitx.ListRemote(t.Context(), repo, nil, gitx.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ref := range remote {
		if ref.Name().String() == "refs/tags/v1.0.0" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the remote has no refs/tags/v1.0.0 (refs: %v)", remote)
	}

	// A second clone makes a different tag of the same name: the remote keeps its own.
	r2 := newStepRun(t, nil)
	if _, err := r2.runWith(t, svc, gitClone, map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.runWith(t, svc, gitTag, map[string]any{"path": "src", "tag": "v1.0.0", "message": "Another"}); err != nil {
		t.Fatal(err)
	}
	_, err = r2.runWith(t, svc, gitPush, map[string]any{"path": "src", "tag": "v1.0.0"})
	wantErr(t, err, "pushing tag v1.0.0")
	if !promotion.IsTerminal(err) {
		t.Errorf("%v is not terminal", err)
	}
	for name, tc := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"a tag that does not exist": {map[string]any{"path": "src", "tag": "v9"}, `tag "v9" does not exist in src; create it with git-tag first`},
		"a tag with targetBranch":   {map[string]any{"path": "src", "tag": "v1.0.0", "targetBranch": "main"}, "a tag push takes none of targetBranch, generateTargetBranch and force"},
		"a tag with force":          {map[string]any{"path": "src", "tag": "v1.0.0", "force": true}, "a tag push takes none of"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.runWith(t, svc, gitPush, tc.cfg)
			wantErr(t, err, tc.want)
		})
	}
}
