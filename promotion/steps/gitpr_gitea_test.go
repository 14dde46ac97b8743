package steps

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// prRun runs the pull-request steps against one Gitea repository as a Promotion would:
// with the project's git credential for the repository, and the outputs of earlier
// runs of the step.
type prRun struct {
	g        *testservers.Gitea
	repo     string
	repoURL  string
	password string
	outputs  map[string]any
}

func newPRRun(t *testing.T, g *testservers.Gitea, repo string, files map[string]string) *prRun {
	t.Helper()
	u, err := g.CreateRepo(context.Background(), repo, files)
	if err != nil {
		t.Fatal(err)
	}
	return &prRun{g: g, repo: repo, repoURL: u, password: g.AdminToken, outputs: map[string]any{}}
}

func (r *prRun) run(step func(context.Context, *promotion.StepContext) (promotion.StepResult, error), alias string, cfg map[string]any) (promotion.StepResult, error) {
	cfg["repoURL"] = r.repoURL
	cfg["provider"] = "gitea"
	svc := &promotion.Services{Credentials: func(_ context.Context, credType, repoURL string) (string, string, bool, error) {
		if credType != "git" || repoURL != r.repoURL {
			return "", "", false, nil
		}
		return r.g.AdminUser, r.password, true, nil
	}}
	res, err := step(context.Background(), &promotion.StepContext{
		Project: "demo", Stage: "prod", Promotion: "prod.01abc", Alias: alias,
		Config: cfg, Outputs: r.outputs, Services: svc,
	})
	if err == nil && res.Output != nil {
		r.outputs[alias] = res.Output
	}
	return res, err
}

func prID(t *testing.T, res promotion.StepResult) int64 {
	t.Helper()
	pr, _ := res.Output["pr"].(map[string]any)
	n, ok := pr["id"].(int64)
	if !ok || n < 1 {
		t.Fatalf("output pr.id = %#v, want a pull request number", pr["id"])
	}
	if res.Output["prNumber"] != n {
		t.Fatalf("output prNumber = %#v, want pr.id %d (older Kargo's name for it)", res.Output["prNumber"], n)
	}
	return n
}

func TestGitPullRequestStepsAgainstGitea(t *testing.T) {
	g := testservers.StartGitea(t)
	ctx := context.Background()
	if _, err := g.CreateUser(ctx, "reviewer"); err != nil {
		t.Fatal(err)
	}

	t.Run("open is idempotent, and wait-for-pr outputs the merge commit once a reviewer merges", func(t *testing.T) {
		r := newPRRun(t, g, "merged", map[string]string{"app.yaml": "tag: 1\n"})
		if err := g.AddCollaborator(ctx, r.repo, "reviewer"); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Push(ctx, r.repo, "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
			t.Fatal(err)
		}
		open := map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main", "title": "Promote tag 2", "labels": []any{"promotion"}}
		res, err := r.run(gitOpenPR, "open-pr", open)
		if err != nil {
			t.Fatal(err)
		}
		first := prID(t, res)
		url, _ := res.Output["pr"].(map[string]any)["url"].(string)
		if want := fmt.Sprintf("%s/%s/%s/pulls/%d", g.URL, g.AdminUser, r.repo, first); url != want {
			t.Errorf("pr.url = %q, want %q", url, want)
		}

		// A replay with the recorded output, and one that lost it (a controller killed
		// before the status write), both come back to the same pull request.
		again, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		delete(r.outputs, "open-pr")
		lost, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		if a, l := prID(t, again), prID(t, lost); a != first || l != first {
			t.Fatalf("replays returned pull requests %d and %d, want %d", a, l, first)
		}
		if n, err := g.OpenPRs(ctx, r.repo); err != nil || n != 1 {
			t.Fatalf("open pull requests = %d (%v), want 1", n, err)
		}

		wait := func() (promotion.StepResult, error) {
			return r.run(gitWaitForPR, "wait", map[string]any{"prNumber": first, "pollInterval": "2s"})
		}
		res, err = wait()
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != promotion.StatusRunning || !strings.Contains(res.Message, "waiting for review") || res.RequeueAfter != 2*time.Second {
			t.Fatalf("before the merge: status %q, message %q, requeue %s; want Running, waiting for review, 2s", res.Status, res.Message, res.RequeueAfter)
		}

		if err := g.MergePR(ctx, r.repo, first, "reviewer", "merge"); err != nil {
			t.Fatal(err)
		}
		res, err = wait()
		if err != nil {
			t.Fatal(err)
		}
		head, err := g.BranchHead(ctx, r.repo, "main")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != "" && res.Status != promotion.StatusSucceeded {
			t.Fatalf("after the merge: status %q (%s), want Succeeded", res.Status, res.Message)
		}
		if res.Output["commit"] != head {
			t.Errorf("commit output = %v, want main's head %s", res.Output["commit"], head)
		}
		if pr := res.Output["pr"].(map[string]any); pr["merged"] != true || pr["open"] != false {
			t.Errorf("pr output = %v, want merged and not open", pr)
		}
		if !strings.Contains(res.Message, "reviewer") {
			t.Errorf("message %q does not name who merged", res.Message)
		}
	})

	t.Run("a pull request closed unmerged fails wait-for-pr, naming who closed it", func(t *testing.T) {
		r := newPRRun(t, g, "closed", map[string]string{"app.yaml": "tag: 1\n"})
		if err := g.AddCollaborator(ctx, r.repo, "reviewer"); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Push(ctx, r.repo, "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
			t.Fatal(err)
		}
		res, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		n := prID(t, res)
		if err := g.ClosePR(ctx, r.repo, n, "reviewer"); err != nil {
			t.Fatal(err)
		}
		res, err = r.run(gitWaitForPR, "wait", map[string]any{"prNumber": n})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != promotion.StatusFailed || !strings.Contains(res.Message, "closed without being merged by reviewer") {
			t.Fatalf("status %q, message %q; want Failed naming reviewer", res.Status, res.Message)
		}
		if _, ok := res.Output["commit"]; ok {
			t.Errorf("a closed pull request has no merge commit, got %v", res.Output["commit"])
		}

		// Opening again after the close opens a new pull request instead of adopting
		// the closed one.
		res, err = r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		if again := prID(t, res); again == n {
			t.Errorf("re-opening returned the closed pull request %d", n)
		}
	})

	t.Run("merge-pr squashes with mergeMethod and outputs the commit on the target branch", func(t *testing.T) {
		r := newPRRun(t, g, "squash", map[string]string{"app.yaml": "tag: 1\n"})
		if _, err := g.Push(ctx, r.repo, "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
			t.Fatal(err)
		}
		src, err := g.Push(ctx, r.repo, "haul/prod", "haul/prod", map[string]string{"notes.txt": "why\n"}, "notes")
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		n := prID(t, res)
		// Right after opening, Gitea is still checking mergeability; the merge
		// waits for the check rather than calling that a conflict.
		merged, err := r.run(gitMergePR, "merge", map[string]any{"prNumber": n, "mergeMethod": "squash"})
		if err != nil {
			t.Fatal(err)
		}
		if merged.Status != "" && merged.Status != promotion.StatusSucceeded {
			t.Fatalf("merge: status %q (%s)", merged.Status, merged.Message)
		}
		head, err := g.BranchHead(ctx, r.repo, "main")
		if err != nil {
			t.Fatal(err)
		}
		if merged.Output["commit"] != head {
			t.Errorf("commit output = %v, want main's head %s", merged.Output["commit"], head)
		}
		if head == src {
			t.Errorf("main is at the source branch's head %s: merged by fast-forward, not squashed", src)
		}
		// Squashing makes one commit whose parent is the old main: two commits in all.
		var commits []map[string]any
		if err := g.API(ctx, "GET", "/repos/"+g.AdminUser+"/"+r.repo+"/commits?sha=main&limit=10", "", nil, &commits); err != nil {
			t.Fatal(err)
		}
		if len(commits) != 2 {
			t.Errorf("main has %d commits after a squash of two, want 2 (seed + squash)", len(commits))
		}
		// Replaying the merge of a merged pull request succeeds with the same commit.
		replay, err := r.run(gitMergePR, "merge", map[string]any{"prNumber": n, "mergeMethod": "squash"})
		if err != nil || replay.Output["commit"] != head {
			t.Errorf("replayed merge: commit %v, err %v; want %s", replay.Output["commit"], err, head)
		}
	})

	t.Run("merge-pr refuses a conflicting pull request with Gitea's reason", func(t *testing.T) {
		r := newPRRun(t, g, "conflict", map[string]string{"app.yaml": "tag: 1\n"})
		if _, err := g.Push(ctx, r.repo, "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Push(ctx, r.repo, "main", "main", map[string]string{"app.yaml": "tag: 3\n"}, "hotfix tag 3"); err != nil {
			t.Fatal(err)
		}
		res, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		n := prID(t, res)
		before, _ := g.BranchHead(ctx, r.repo, "main")
		var refused promotion.StepResult
		for i := 0; i < 50; i++ {
			if refused, err = r.run(gitMergePR, "merge", map[string]any{"prNumber": n}); err != nil {
				t.Fatal(err)
			}
			if refused.Status == promotion.StatusFailed && strings.Contains(refused.Message, "conflict") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if refused.Status != promotion.StatusFailed || !strings.Contains(refused.Message, "not mergeable") || !strings.Contains(refused.Message, "conflict") {
			t.Fatalf("status %q, message %q; want Failed: not mergeable, conflict", refused.Status, refused.Message)
		}
		waiting, err := r.run(gitMergePR, "merge", map[string]any{"prNumber": n, "wait": true, "pollInterval": "3s"})
		if err != nil {
			t.Fatal(err)
		}
		if waiting.Status != promotion.StatusRunning || waiting.RequeueAfter != 3*time.Second {
			t.Errorf("with wait: status %q, requeue %s; want Running after 3s", waiting.Status, waiting.RequeueAfter)
		}
		if after, _ := g.BranchHead(ctx, r.repo, "main"); after != before {
			t.Errorf("main moved from %s to %s although the merge was refused", before, after)
		}
	})

	t.Run("merge-pr with a merge style the repository disables fails with Gitea's message", func(t *testing.T) {
		r := newPRRun(t, g, "nosquash", map[string]string{"app.yaml": "tag: 1\n"})
		if err := g.API(ctx, "PATCH", "/repos/"+g.AdminUser+"/"+r.repo, "", map[string]any{"allow_squash_merge": false}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Push(ctx, r.repo, "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
			t.Fatal(err)
		}
		res, err := r.run(gitOpenPR, "open-pr", map[string]any{"sourceBranch": "haul/prod", "targetBranch": "main"})
		if err != nil {
			t.Fatal(err)
		}
		refused, err := r.run(gitMergePR, "merge", map[string]any{"prNumber": prID(t, res), "mergeMethod": "squash"})
		if err != nil {
			t.Fatal(err)
		}
		if refused.Status != promotion.StatusFailed || !strings.Contains(refused.Message, "squash is not allowed") {
			t.Fatalf("status %q, message %q; want Failed with Gitea's message about squash", refused.Status, refused.Message)
		}
	})

	t.Run("a refused credential is a terminal error that does not show the token", func(t *testing.T) {
		r := newPRRun(t, g, "badcred", map[string]string{"app.yaml": "tag: 1\n"})
		r.password = "not-the-token-3f9c1d"
		_, err := r.run(gitWaitForPR, "wait", map[string]any{"prNumber": 1})
		if err == nil || !promotion.IsTerminal(err) {
			t.Fatalf("err = %v, want a terminal error", err)
		}
		if !strings.Contains(err.Error(), "refused the credential") || strings.Contains(err.Error(), r.password) {
			t.Errorf("error %q should say the credential was refused without showing it", err)
		}
	})

	t.Run("bad config names the field", func(t *testing.T) {
		r := &prRun{g: g, repoURL: g.RepoURL("none"), outputs: map[string]any{}}
		for name, tc := range map[string]struct {
			step func(context.Context, *promotion.StepContext) (promotion.StepResult, error)
			cfg  map[string]any
			want string
		}{
			"same branches":        {gitOpenPR, map[string]any{"sourceBranch": "main", "targetBranch": "main"}, `both "main"`},
			"missing sourceBranch": {gitOpenPR, map[string]any{"targetBranch": "main"}, "sourceBranch"},
			"prNumber zero":        {gitWaitForPR, map[string]any{"prNumber": 0}, "prNumber 0"},
			"bad pollInterval":     {gitWaitForPR, map[string]any{"prNumber": 1, "pollInterval": "soon"}, `pollInterval "soon"`},
			"unknown key":          {gitMergePR, map[string]any{"prNumber": 1, "strategy": "squash"}, "strategy"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := r.run(tc.step, "x", tc.cfg)
				if err == nil || !promotion.IsTerminal(err) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want a terminal error mentioning %q", err, tc.want)
				}
			})
		}
	})
}
