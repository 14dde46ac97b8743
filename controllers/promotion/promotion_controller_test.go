package promotion_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/metrics"
)

// stageSteps render main plus the Stage's image into an orphan stage/<stage> branch.
func stageSteps(repo, stage string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{
			map[string]any{"branch": "main", "path": "src"},
			map[string]any{"branch": "stage/" + stage, "create": true, "path": "out"}}}),
		rawStep("git-clear", "clear", map[string]any{"path": "out"}),
		rawStep("copy", "copy", map[string]any{"inPath": "src", "outPath": "out"}),
		rawStep("kustomize-set-image", "set", map[string]any{"path": "out/stages/" + stage}),
		rawStep("git-commit", "commit", map[string]any{"path": "out", "message": "promote ${{ ctx.targetFreight.alias }}"}),
		rawStep("git-push", "push", map[string]any{"path": "out"}),
	}
}

func TestPromotionEndToEnd(t *testing.T) {
	ns := env.Namespace(t, "promo-e2e")
	srv, repo := seedGitops(t, "test")
	startController(t, t.TempDir())
	makeStage(t, ns, "test", stageSteps(repo, "test"))
	makeFreight(t, ns, "aaaaaaaaaaaa1", "1.2.3")
	makeFreight(t, ns, "bbbbbbbbbbbb2", "1.2.4")

	name := promote(t, ns, "test", "aaaaaaaaaaaa1")
	p := waitTerminal(t, ns, name, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("phase %s: %s", p.Status.Phase, p.Status.Message)
	}
	if len(p.Status.Steps) != 6 || len(p.Status.StepExecutionMetadata) != 6 || p.Status.Freight.Name != "aaaaaaaaaaaa1" {
		t.Fatalf("status lacks the snapshot: %+v", p.Status)
	}
	for _, uses := range []string{"git-clone", "kustomize-set-image", "git-push"} {
		if n := stepRuns(t, uses, haulv1.StepSucceeded); n == 0 {
			t.Errorf("haul_promotion_step_duration_seconds has no Succeeded run of %s", uses)
		}
	}
	diff, _ := testservers.Git(srv.Root+"/gitops.git", "diff", "--name-only", "main", "stage/test")
	if diff != "stages/test/kustomization.yaml" {
		t.Fatalf("stage/test differs from main in %q", diff)
	}
	if got, _ := srv.Show("gitops", "stage/test", "stages/test/kustomization.yaml"); !strings.Contains(got, "newTag: 1.2.3") {
		t.Fatalf("kustomization on stage/test:\n%s", got)
	}
	ctx := context.Background()
	stage := &haulv1.Stage{}
	// The Stage is released right after the Promotion's final status is written.
	eventually(t, 30*time.Second, "the Stage to be released", func() bool {
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test"}, stage)
		return stage.Status.CurrentPromotion == nil
	})
	f := &haulv1.Freight{}
	eventually(t, 30*time.Second, "Freight.status.currentlyIn", func() bool {
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "aaaaaaaaaaaa1"}, f)
		_, ok := f.Status.CurrentlyIn["test"]
		return ok
	})
	if stage.Status.CurrentPromotion != nil || stage.Status.LastPromotion == nil || stage.Status.LastPromotion.Name != name {
		t.Fatalf("stage lock/lastPromotion: %+v %+v", stage.Status.CurrentPromotion, stage.Status.LastPromotion)
	}
	if len(stage.Status.FreightHistory) != 1 || stage.Status.FreightHistory[0].Items["Warehouse/w"].Name != "aaaaaaaaaaaa1" {
		t.Fatalf("freightHistory: %+v", stage.Status.FreightHistory)
	}

	// The same Freight again: succeeds, no new commit.
	sha, _ := srv.RevParse("gitops", "stage/test")
	again := promote(t, ns, "test", "aaaaaaaaaaaa1")
	if p := waitTerminal(t, ns, again, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("again: %s: %s", p.Status.Phase, p.Status.Message)
	}
	if now, _ := srv.RevParse("gitops", "stage/test"); now != sha {
		t.Fatalf("same Freight moved stage/test")
	}

	// New Freight moves currentlyIn.
	third := promote(t, ns, "test", "bbbbbbbbbbbb2")
	if p := waitTerminal(t, ns, third, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("third: %s: %s", p.Status.Phase, p.Status.Message)
	}
	eventually(t, 30*time.Second, "the old Freight to leave the Stage", func() bool {
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "aaaaaaaaaaaa1"}, f)
		_, ok := f.Status.CurrentlyIn["test"]
		return !ok
	})

	// The Stage is released before the Freight is marked; a crash in between leaves the
	// mark missing, and the next reconcile of the (terminal) Promotion repairs it.
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"currentlyIn":{"test":null}}}`))
	if err := env.Client.Status().Patch(ctx, &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bbbbbbbbbbbb2"}}, patch); err != nil {
		t.Fatal(err)
	}
	touch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"example.com/touched":"1"}}}`))
	if err := env.Client.Patch(ctx, &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: third}}, touch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the missing Freight mark to be repaired", func() bool {
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bbbbbbbbbbbb2"}, f)
		_, ok := f.Status.CurrentlyIn["test"]
		return ok
	})
}

func TestPromotionOfUnavailableFreightErrors(t *testing.T) {
	ns := env.Namespace(t, "promo-unavail")
	startController(t, t.TempDir())
	s := []haulv1.PromotionStep{rawStep("compose-output", "x", map[string]any{"a": "b"})}
	makeStage(t, ns, "up", s)
	st := &haulv1.Stage{}
	_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "up"}, st)
	down := st.DeepCopy()
	down.ObjectMeta = st.ObjectMeta
	down.Name, down.ResourceVersion, down.UID = "down", "", ""
	down.Spec.RequestedFreight[0].Sources = haulv1.FreightSources{Stages: []string{"up"}}
	if err := env.Client.Create(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	makeFreight(t, ns, "cccccccccccc3", "1.0.0")
	name := promote(t, ns, "down", "cccccccccccc3")
	p := waitTerminal(t, ns, name, 30*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored || !strings.HasPrefix(p.Status.Message, promotion.MsgNotAvailable) {
		t.Fatalf("phase %s: %q", p.Status.Phase, p.Status.Message)
	}
}

func TestPromotionsOfOneStageRunInOrder(t *testing.T) {
	ns := env.Namespace(t, "promo-queue")
	startController(t, t.TempDir())
	// Each Promotion's one step calls this server, which records the order the
	// Promotions ran in and how many ran at once: StartedAt has one-second resolution,
	// so it cannot tell five quick Promotions apart.
	var mu sync.Mutex
	var order []string
	inFlight, maxInFlight := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Query().Get("p"))
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()
	makeStage(t, ns, "q", []haulv1.PromotionStep{rawStep("http", "x", map[string]any{
		"url": srv.URL + "/?p=${{ ctx.promotion }}", "successExpression": "response.status == 200"})})
	makeFreight(t, ns, "dddddddddddd4", "1.0.0")
	var names []string
	for range 5 {
		names = append(names, promote(t, ns, "q", "dddddddddddd4"))
	}
	for _, n := range names {
		p := waitTerminal(t, ns, n, 60*time.Second)
		if p.Status.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("%s: %s: %s", n, p.Status.Phase, p.Status.Message)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != strings.Join(names, ",") {
		t.Errorf("promotions ran in the order %v, want creation order %v", order, names)
	}
	if maxInFlight != 1 {
		t.Errorf("%d promotions of one stage ran at once, want 1", maxInFlight)
	}
}

// TestRestartMidPromotionFinishesWithOneCommit stops the controller after a commit
// was persisted but before the push ran, deletes the work dir (a new pod) and restarts.
func TestRestartMidPromotionFinishesWithOneCommit(t *testing.T) {
	ns := env.Namespace(t, "promo-restart")
	srv, repo := seedGitops(t, "r")
	work := t.TempDir()
	stop := startController(t, work)
	steps := stageSteps(repo, "r")
	// An http step that polls an endpoint that is not ready yet sits between commit and push.
	gate := newGate(t)
	steps = append(steps[:5], append([]haulv1.PromotionStep{rawStep("http", "gate", map[string]any{
		"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "200ms"})}, steps[5:]...)...)
	makeStage(t, ns, "r", steps)
	makeFreight(t, ns, "eeeeeeeeeeee5", "3.0.0")
	name := promote(t, ns, "r", "eeeeeeeeeeee5")
	eventually(t, 60*time.Second, "the gate step to run", func() bool {
		return phase(t, ns, name).Status.CurrentStep == 5
	})
	stop()
	if err := removeAll(work); err != nil {
		t.Fatal(err)
	}
	gate.open()
	startController(t, work)
	p := waitTerminal(t, ns, name, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", p.Status.Phase, p.Status.Message)
	}
	out, _ := testservers.Git(srv.Root+"/gitops.git", "rev-list", "--count", "stage/r")
	if out != "1" {
		t.Fatalf("stage/r has %s commits on top of main, want 1", out)
	}
}

// stepRuns reads how many runs of a step kind with that outcome the step histogram holds.
func stepRuns(t *testing.T, uses string, status haulv1.StepStatus) uint64 {
	t.Helper()
	m := &dto.Metric{}
	if err := metrics.StepDuration.WithLabelValues(uses, string(status)).(prometheus.Metric).Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
