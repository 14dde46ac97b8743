package stage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// brokenVersions is a service whose health check fails for the versions marked broken.
type brokenVersions struct {
	mu     sync.Mutex
	broken map[string]bool
	srv    *httptest.Server
}

func newBrokenVersions(t *testing.T) *brokenVersions {
	b := &brokenVersions{broken: map[string]bool{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.broken[r.URL.Query().Get("v")] {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *brokenVersions) breakVersion(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.broken[v] = true
}

// rollbackStage is a Stage that commits the Freight's alias to stage/<name> of repo and
// verifies it with an HTTP check of svc; Freight whose alias starts with "bad" fails
// its Promotion.
func rollbackStage(ns, name, repo string, svc *brokenVersions) *haulv1.Stage {
	s := newStage(ns, name)
	s.Spec.PromotionTemplate.Spec.Steps = []haulv1.PromotionStep{
		{Uses: "fail", If: `${{ ctx.targetFreight.alias startsWith "bad" }}`, Config: rawJSON(map[string]any{"message": "bad freight"})},
		{Uses: "compose-output", As: "meta", Config: rawJSON(map[string]any{"rollback": "${{ ctx.meta.promotion.rollback }}"})},
		{Uses: "git-clone", Config: rawJSON(map[string]any{"repoURL": repo, "checkout": []any{
			map[string]any{"branch": "stage/" + name, "create": true, "path": "out"}}})},
		{Uses: "git-clear", Config: rawJSON(map[string]any{"path": "out"})},
		{Uses: "file-write", Config: rawJSON(map[string]any{"path": "out/version.txt", "contents": "${{ ctx.targetFreight.alias }}"})},
		{Uses: "git-commit", Config: rawJSON(map[string]any{"path": "out",
			"message": "${{ ctx.meta.promotion.rollback ? 'roll back to' : 'promote' }} ${{ ctx.targetFreight.alias }}"})},
		{Uses: "git-push", Config: rawJSON(map[string]any{"path": "out"})},
	}
	s.Spec.Verification = &haulv1.Verification{Steps: []haulv1.PromotionStep{{Uses: "http", As: "probe", Config: rawJSON(map[string]any{
		"url": svc.srv.URL + "/health?v=${{ ctx.targetFreight.alias }}", "successExpression": "response.status == 200", "failureExpression": "response.status != 200",
	})}}}
	return s
}

// rollbackProject enables auto-promotion and autoRollback for every Stage.
func rollbackProject(t *testing.T, name string, rb haulv1.AutoRollbackConfig) string {
	t.Helper()
	ns := project(t, name, false)
	cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true, AutoRollback: &rb}}
	must(t, env.Client.Create(ctx, cfg))
	return ns
}

func stableOf(t *testing.T, s *haulv1.Stage) map[string]string {
	t.Helper()
	raw, ok := s.Status.Metadata[stage.MetadataStableFreight]
	if !ok {
		return nil
	}
	var m map[string]string
	must(t, json.Unmarshal(raw.Raw, &m))
	return m
}

func rollbacksOf(t *testing.T, ns, stageName string) []haulv1.Promotion {
	var out []haulv1.Promotion
	for _, p := range promotionsOf(t, ns, stageName) {
		if promotion.IsRollback(&p) {
			out = append(out, p)
		}
	}
	return out
}

func stageBranchLog(t *testing.T, git *testservers.GitServer, repo, branch string) []string {
	t.Helper()
	out, err := testservers.Git(git.Root+"/"+repo+".git", "log", "--format=%s", branch)
	must(t, err)
	return strings.Split(out, "\n")
}

// Verification of newer Freight fails in a Stage with autoRollback: Haul promotes the
// stable Freight again (one rollback commit on the stage branch), holds auto-promotion
// of the failed Freight, says so in an Event, and does not roll back a rollback.
func TestFailedVerificationRollsBackOnce(t *testing.T) {
	startManager(t)
	git, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer git.Close()
	_, err = git.SeedRepo("deploy", map[string]string{"README.md": "deploy\n"})
	must(t, err)
	svc := newBrokenVersions(t)
	ns := rollbackProject(t, "rollback-verify", haulv1.AutoRollbackConfig{})
	must(t, env.Client.Create(ctx, rollbackStage(ns, "test", git.RepoURL("deploy"), svc)))

	one := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", one)
	waitRun(t, ns, "test", haulv1.VerificationSucceeded, 1)
	eventually(t, "one to become the stable Freight", func() (bool, string) {
		m := stableOf(t, getStage(t, ns, "test"))
		return m[origin.String()] == one.Name, fmt.Sprint(m)
	})

	svc.breakVersion("two")
	two := newFreight(t, ns, "two")
	waitCurrent(t, ns, "test", two)
	waitRun(t, ns, "test", haulv1.VerificationFailed, 1)

	// The Stage goes back to one, by a rollback Promotion.
	waitCurrent(t, ns, "test", one)
	waitRun(t, ns, "test", haulv1.VerificationSucceeded, 1)
	rbs := rollbacksOf(t, ns, "test")
	if len(rbs) != 1 {
		t.Fatalf("%d rollback Promotions, want 1: %s", len(rbs), describePromotions(t, ns, "test"))
	}
	rb := rbs[0]
	if rb.Spec.Freight != one.Name || rb.Status.Phase != haulv1.PromotionSucceeded {
		t.Errorf("rollback promotes %s and ended %s, want %s Succeeded", rb.Spec.Freight, rb.Status.Phase, one.Name)
	}
	if !strings.Contains(string(rb.Status.State.Raw), `"rollback":true`) {
		t.Errorf("ctx.meta.promotion.rollback was not true in the rollback: state %s", rb.Status.State.Raw)
	}
	if log := stageBranchLog(t, git, "deploy", "stage/test"); len(log) < 3 || log[0] != "roll back to one" || log[1] != "promote two" || log[2] != "promote one" {
		t.Errorf("stage/test log = %q, want one rollback commit on top of promote two, promote one", log)
	}
	if got, _ := git.Show("deploy", "stage/test", "version.txt"); got != "one" {
		t.Errorf("stage/test version.txt = %q after the rollback, want one", got)
	}

	// Auto-promotion of two is held, visibly, and the rollback is an Event.
	s := getStage(t, ns, "test")
	if len(s.Status.AutoPromotionHolds) != 1 || s.Status.AutoPromotionHolds[0].Freight != one.Name ||
		!strings.Contains(s.Status.AutoPromotionHolds[0].Reason, "rolled the Stage back") {
		t.Errorf("holds = %+v, want one hold from the rollback naming it", s.Status.AutoPromotionHolds)
	}
	eventually(t, "the AutoRollbackCreated event", func() (bool, string) {
		var evs corev1.EventList
		must(t, env.Client.List(ctx, &evs, client.InNamespace(ns)))
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == haulv1.ReasonAutoRollbackCreated {
				return strings.Contains(e.Message, "verification") && strings.Contains(e.Message, "two") &&
					strings.Contains(e.Message, rb.Name), e.Message
			}
			seen = append(seen, e.Reason)
		}
		return false, strings.Join(seen, ",")
	})
	settle(t, ns, "test")
	if cur := current(getStage(t, ns, "test")); cur != one.Name {
		t.Errorf("auto-promotion moved the Stage to %s despite the hold", cur)
	}

	// Now one fails too: it is the stable Freight, so there is nothing to roll back to,
	// and no rollback of the rollback.
	svc.breakVersion("one")
	annotateStage(t, ns, "test", haulv1.AnnotationReverify, "again")
	waitRun(t, ns, "test", haulv1.VerificationFailed, 2)
	settle(t, ns, "test")
	if rbs := rollbacksOf(t, ns, "test"); len(rbs) != 1 {
		t.Errorf("%d rollback Promotions after the stable Freight failed, want still 1: %s", len(rbs), describePromotions(t, ns, "test"))
	}
}

// With onPromotion, a failed Promotion rolls the Stage back; a Stage whose policy has no
// autoRollback, or only onVerification, is left where it is.
func TestFailedPromotionRollsBackOnlyWhenAsked(t *testing.T) {
	startManager(t)
	git, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer git.Close()
	_, err = git.SeedRepo("deploy", map[string]string{"README.md": "deploy\n"})
	must(t, err)
	svc := newBrokenVersions(t)
	for _, tc := range []struct {
		name     string
		rb       *haulv1.AutoRollbackConfig
		rollback bool
	}{
		{"on-promotion", &haulv1.AutoRollbackConfig{OnPromotion: []haulv1.RollbackPromotionPhase{"Failed"}}, true},
		{"verification-only", &haulv1.AutoRollbackConfig{}, false},
		{"off", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := project(t, "rollback-"+tc.name, false)
			cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
			cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true, AutoRollback: tc.rb}}
			must(t, env.Client.Create(ctx, cfg))
			must(t, env.Client.Create(ctx, rollbackStage(ns, "test", git.RepoURL("deploy"), svc)))
			one := newFreight(t, ns, "one")
			waitCurrent(t, ns, "test", one)
			waitRun(t, ns, "test", haulv1.VerificationSucceeded, 1)
			before := len(promotionsOf(t, ns, "test"))

			newFreight(t, ns, "bad-two")
			eventually(t, "the Promotion of bad-two to fail", func() (bool, string) {
				for _, p := range promotionsOf(t, ns, "test") {
					if strings.HasPrefix(p.Annotations[haulv1.AnnotationCreateActor], promotion.AutoPromotionActor) && p.Status.Phase == haulv1.PromotionFailed {
						return true, ""
					}
				}
				return false, describePromotions(t, ns, "test")
			})
			if tc.rollback {
				eventually(t, "a rollback to one", func() (bool, string) {
					rbs := rollbacksOf(t, ns, "test")
					return len(rbs) == 1 && rbs[0].Spec.Freight == one.Name && rbs[0].Status.Phase == haulv1.PromotionSucceeded,
						describePromotions(t, ns, "test")
				})
			}
			settle(t, ns, "test")
			want := before + 1
			if tc.rollback {
				want++
			}
			if n := len(promotionsOf(t, ns, "test")); n != want {
				t.Errorf("%d Promotions, want %d: %s", n, want, describePromotions(t, ns, "test"))
			}
			if cur := current(getStage(t, ns, "test")); cur != one.Name {
				t.Errorf("stage holds %s, want one", cur)
			}
		})
	}
}
