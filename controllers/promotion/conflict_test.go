package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// barrier answers each request once n requests have arrived (or after a minute), so
// n Promotions pass one step only together.
func barrier(t *testing.T, n int) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPushRebaseConflictEndsTerminal is scenario 18 with real Promotions: two Stages
// change the same line of the same file on one branch. Both clone before either
// pushes (a barrier step holds them), so one push finds the branch moved and its
// rebase conflicts. That Promotion ends Errored at once, naming the branch, the
// conflict and the file, although the push step allows five errors: a conflict is
// not retried. The winner's change is what the branch holds.
func TestPushRebaseConflictEndsTerminal(t *testing.T) {
	ns := env.Namespace(t, "promo-conflict")
	srv, repo := seedGitops(t)
	if _, err := srv.Commit("gitops", "main", map[string]string{"shared/config.yaml": "replicas: 1\n"}, "shared config"); err != nil {
		t.Fatal(err)
	}
	gate := barrier(t, 2)
	startController(t, t.TempDir())
	for _, stage := range []string{"east", "west"} {
		push := rawStep("git-push", "push", map[string]any{"path": "src", "targetBranch": "main"})
		push.Retry = &haulv1.StepRetry{ErrorThreshold: 5}
		makeStage(t, ns, stage, []haulv1.PromotionStep{
			rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}),
			rawStep("file-write", "edit", map[string]any{"path": "src/shared/config.yaml", "overwrite": true, "permissions": "0644", "contents": "replicas: 1 # " + stage + "\n"}),
			rawStep("git-commit", "commit", map[string]any{"path": "src", "message": "set replicas for " + stage}),
			rawStep("http", "together", map[string]any{"url": gate.URL, "timeout": "2m"}),
			push,
		})
	}
	makeFreight(t, ns, "eeffeeffeef01", "1.0.0")
	names := map[string]string{
		"east": promote(t, ns, "east", "eeffeeffeef01"),
		"west": promote(t, ns, "west", "eeffeeffeef01"),
	}
	var winner, loser string
	var lost *haulv1.Promotion
	for stage, name := range names {
		p := waitTerminal(t, ns, name, 2*time.Minute)
		t.Logf("%s: %s: %s", stage, p.Status.Phase, p.Status.Message)
		switch p.Status.Phase {
		case haulv1.PromotionSucceeded:
			winner = stage
		case haulv1.PromotionErrored:
			loser, lost = stage, p
		default:
			t.Fatalf("%s: %s: %s", stage, p.Status.Phase, p.Status.Message)
		}
	}
	if winner == "" || loser == "" {
		t.Fatalf("want one winner and one loser, got winner %q loser %q", winner, loser)
	}
	for _, want := range []string{`step "push" errored: branch main: rebasing onto `, "conflict with commits pushed to the branch meanwhile in shared/config.yaml"} {
		if !strings.Contains(lost.Status.Message, want) {
			t.Errorf("loser's message %q does not contain %q", lost.Status.Message, want)
		}
	}
	for _, s := range lost.Status.StepExecutionMetadata {
		if s.Alias == "push" && (s.ErrorCount != 1 || s.Status != haulv1.StepErrored) {
			t.Errorf("push step: %s after %d errors, want Errored after the first (no retry of a conflict)", s.Status, s.ErrorCount)
		}
	}
	if got, _ := srv.Show("gitops", "main", "shared/config.yaml"); got != "replicas: 1 # "+winner {
		t.Errorf("main holds %q, want the winner's (%s) change", got, winner)
	}
}
