package steps

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// TestPullRequestPromotionWaitsForTheReviewerAndSurvivesARestart runs open → wait →
// a later step reading the merge commit through the engine, with the State going
// through JSON between runs as it does through Promotion.status, and a replay from
// the start (a controller restart) in the middle.
func TestPullRequestPromotionWaitsForTheReviewerAndSurvivesARestart(t *testing.T) {
	g := testservers.StartGitea(t)
	ctx := context.Background()
	repoURL, err := g.CreateRepo(ctx, "engine", map[string]string{"app.yaml": "tag: 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Push(ctx, "engine", "main", "haul/prod", map[string]string{"app.yaml": "tag: 2\n"}, "tag 2"); err != nil {
		t.Fatal(err)
	}
	step := func(uses, as string, cfg map[string]any) haulv1.PromotionStep {
		b, _ := json.Marshal(cfg)
		return haulv1.PromotionStep{Uses: uses, As: as, Config: &apiextensionsv1.JSON{Raw: b}}
	}
	steps := []haulv1.PromotionStep{
		step("git-open-pr", "open-pr", map[string]any{"repoURL": repoURL, "provider": "gitea", "sourceBranch": "haul/prod", "targetBranch": "main"}),
		step("git-wait-for-pr", "wait", map[string]any{"repoURL": repoURL, "provider": "gitea", "prNumber": "${{ outputs['open-pr'].pr.id }}", "pollInterval": "1s"}),
		step("compose-output", "deployed", map[string]any{"revision": "${{ outputs.wait.commit }}"}),
	}
	e := &promotion.Engine{Registry: Builtin(), Services: &promotion.Services{
		Credentials: func(_ context.Context, credType, u string) (string, string, bool, error) {
			return g.AdminUser, g.AdminToken, credType == "git" && u == repoURL, nil
		},
	}}
	var st promotion.State
	runOnce := func(replay bool) promotion.Result {
		t.Helper()
		res, out := e.Run(ctx, promotion.Request{Project: "demo", Stage: "prod", Promotion: "prod.1", Steps: steps, WorkDir: t.TempDir(), State: st, Replay: replay})
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		st = promotion.State{}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := runOnce(false)
	if res.Phase != haulv1.PromotionRunning || !strings.Contains(res.Message, "waiting for review") || res.RequeueAfter != time.Second {
		t.Fatalf("before review: phase %s, message %q, requeue %s", res.Phase, res.Message, res.RequeueAfter)
	}
	if res = runOnce(true); res.Phase != haulv1.PromotionRunning {
		t.Fatalf("replay: phase %s: %s", res.Phase, res.Message)
	}
	if n, err := g.OpenPRs(ctx, "engine"); err != nil || n != 1 {
		t.Fatalf("open pull requests after a replay = %d (%v), want 1", n, err)
	}
	pr, _ := st.Outputs["open-pr"].(map[string]any)["pr"].(map[string]any)
	number, _ := pr["id"].(float64)
	if err := g.MergePR(ctx, "engine", int64(number), "", "merge"); err != nil {
		t.Fatal(err)
	}
	if res = runOnce(false); res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("after the merge: phase %s: %s", res.Phase, res.Message)
	}
	head, err := g.BranchHead(ctx, "engine", "main")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Outputs["deployed"].(map[string]any)["revision"]; got != head {
		t.Errorf("a later step read commit %v, want main's head %s", got, head)
	}
}
