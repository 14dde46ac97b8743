package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// setupPipeline applies test → uat → prod from Warehouse app in a fresh project and
// creates two Freight: brave-otter (verified in test) and calm-heron (nowhere yet).
func setupPipeline(t *testing.T, h *harness, ns string) {
	t.Helper()
	projectNamespace(t, ns)
	y := `apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: app}
spec:
  subscriptions: [{image: {repoURL: ghcr.io/acme/app}}]
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: test}
spec:
  requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: {direct: true}}]
  promotionTemplate: {spec: {steps: [{uses: git-clone, as: clone}, {uses: git-push}]}}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: uat}
spec:
  requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: {stages: [test]}}]
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: prod}
spec:
  requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: {stages: [uat]}}]
`
	h.mustRun("-p", ns, "apply", "-f", writeFile(t, "pipeline.yaml", y))
	makeFreight(t, ns, "1111111111111111111111111111111111111111", "brave-otter", "1.0.0", map[string]haulv1.VerifiedStage{"test": {VerifiedAt: ptrTime(time.Now())}})
	makeFreight(t, ns, "2222222222222222222222222222222222222222", "calm-heron", "1.1.0", nil)
}

func makeFreight(t *testing.T, ns, name, alias, tag string, verified map[string]haulv1.VerifiedStage) {
	t.Helper()
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{haulv1.LabelAlias: alias}},
		Alias:      alias,
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
		Images:     []haulv1.Image{{RepoURL: "ghcr.io/acme/app", Tag: tag}},
	}
	if err := env.Client.Create(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if verified != nil {
		f.Status.VerifiedIn = verified
		if err := env.Client.Status().Update(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
}

// onlyPromotion waits for the single Promotion of a stage to exist.
func onlyPromotion(t *testing.T, ns, stage string) *haulv1.Promotion {
	t.Helper()
	var got *haulv1.Promotion
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list := &haulv1.PromotionList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelStage: stage}); err != nil {
			return false, err
		}
		if len(list.Items) == 1 {
			got = &list.Items[0]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("waiting for the promotion of %s: %v", stage, err)
	}
	return got
}

// drivePromotion plays the promotion controller: it moves the Promotion through its
// steps and ends it in the given phase; a Succeeded one is then recorded on the Stage,
// as the Stage controller would.
func drivePromotion(t *testing.T, ns, stage string, end haulv1.PromotionPhase, message string) {
	drivePromotionRecording(t, ns, stage, end, message, 0)
}

// drivePromotionRecording is drivePromotion with the Stage recording a Succeeded
// Promotion only after the given delay.
func drivePromotionRecording(t *testing.T, ns, stage string, end haulv1.PromotionPhase, message string, recordAfter time.Duration) {
	p := onlyPromotion(t, ns, stage)
	start := metav1.NewTime(time.Now().Add(-3 * time.Second))
	steps := []haulv1.PromotionStep{{Uses: "git-clone", As: "clone"}, {Uses: "git-push"}}
	update := func(mut func(*haulv1.Promotion)) {
		err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			cur := &haulv1.Promotion{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil {
				return false, err
			}
			mut(cur)
			if err := env.Client.Status().Update(ctx, cur); err != nil {
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			t.Errorf("driving promotion: %v", err)
		}
		// Let the CLI observe every state: it polls every pollInterval.
		time.Sleep(3 * pollInterval)
	}
	update(func(p *haulv1.Promotion) {
		p.Status.Phase = haulv1.PromotionRunning
		p.Status.Steps = steps
		p.Status.StartedAt = &start
		p.Status.StepExecutionMetadata = []haulv1.StepExecutionMetadata{{Alias: "clone", StartedAt: &start, Status: haulv1.StepRunning}}
	})
	update(func(p *haulv1.Promotion) {
		done := metav1.NewTime(start.Add(2 * time.Second))
		p.Status.CurrentStep = 1
		p.Status.StepExecutionMetadata = []haulv1.StepExecutionMetadata{
			{Alias: "clone", StartedAt: &start, FinishedAt: &done, Status: haulv1.StepSucceeded},
			{Alias: "step-2", StartedAt: &done, Status: haulv1.StepRunning},
		}
	})
	update(func(p *haulv1.Promotion) {
		done := metav1.NewTime(start.Add(2 * time.Second))
		fin := metav1.NewTime(start.Add(5 * time.Second))
		last := haulv1.StepSucceeded
		if end != haulv1.PromotionSucceeded {
			last = haulv1.StepFailed
		}
		p.Status.Phase = end
		p.Status.Message = message
		p.Status.FinishedAt = &fin
		p.Status.StepExecutionMetadata = []haulv1.StepExecutionMetadata{
			{Alias: "clone", StartedAt: &start, FinishedAt: &done, Status: haulv1.StepSucceeded},
			{Alias: "step-2", StartedAt: &done, FinishedAt: &fin, Status: last, Message: message},
		}
	})
	if end != haulv1.PromotionSucceeded {
		return
	}
	time.Sleep(recordAfter)
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		st := &haulv1.Stage{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: stage}, st); err != nil {
			return false, err
		}
		st.Status.LastPromotion = &haulv1.PromotionReference{Name: p.Name, Freight: p.Spec.Freight, Phase: end}
		return env.Client.Status().Update(ctx, st) == nil, nil
	})
	if err != nil {
		t.Errorf("recording the promotion on the stage: %v", err)
	}
}

// TestPromoteWaitReturnsOnceTheStageRecordsIt: --wait returns only when the Stage
// shows what was promoted, so `haul get stage` right after it is current.
func TestPromoteWaitReturnsOnceTheStageRecordsIt(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-record")
	go drivePromotionRecording(t, "promo-record", "test", haulv1.PromotionSucceeded, "", 2*time.Second)
	out, errOut, err := h.run("-p", "promo-record", "promote", "--stage", "test", "--freight-alias", "calm-heron", "--wait")
	if err != nil {
		t.Fatalf("promote --wait: %v\n%s\n%s", err, out, errOut)
	}
	p := onlyPromotion(t, "promo-record", "test")
	st := &haulv1.Stage{}
	must(t, env.Client.Get(t.Context(), client.ObjectKey{Namespace: "promo-record", Name: "test"}, st))
	if st.Status.LastPromotion == nil || st.Status.LastPromotion.Name != p.Name {
		t.Fatalf("promote --wait returned before the Stage recorded %s: lastPromotion %+v", p.Name, st.Status.LastPromotion)
	}
	if !strings.Contains(out, "Promotion "+p.Name+" Succeeded") {
		t.Errorf("output lacks the success line:\n%s", out)
	}
}

func TestPromoteWaitWithStatusDrivenByTheTest(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-wait")

	go drivePromotion(t, "promo-wait", "test", haulv1.PromotionSucceeded, "")
	out, errOut, err := h.run("-p", "promo-wait", "promote", "--stage", "test", "--freight-alias", "calm-heron", "--wait")
	if err != nil {
		t.Fatalf("promote --wait: %v\n%s\n%s", err, out, errOut)
	}
	p := onlyPromotion(t, "promo-wait", "test")
	for _, want := range []string{
		"promotion.haul.dev/" + p.Name + " created (Freight calm-heron → Stage test)\n",
		"Promotion " + p.Name + ": Running\n",
		"  clone                git-clone              Running    ",
		"  clone                git-clone              Succeeded  2s\n",
		"  step-2               git-push               Succeeded  3s\n",
		"Promotion " + p.Name + " Succeeded in 5s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(p.Name, "test.") || !strings.HasSuffix(p.Name, ".2222222") {
		t.Errorf("promotion name %q is not <stage>.<ulid>.<freight[:7]>", p.Name)
	}
	if p.Spec.Freight != "2222222222222222222222222222222222222222" || !strings.HasPrefix(p.Annotations[haulv1.AnnotationCreateActor], "cli:") {
		t.Errorf("promotion = %+v, annotations %v", p.Spec, p.Annotations)
	}
}

func TestPromoteWaitFailsWhenThePromotionFails(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-fail")

	go drivePromotion(t, "promo-fail", "test", haulv1.PromotionFailed, "remote rejected the push")
	out, _, err := h.run("-p", "promo-fail", "promote", "--stage", "test", "--warehouse", "app", "--wait")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code == 0 || !strings.Contains(err.Error(), "Failed: remote rejected the push") {
		t.Fatalf("want a non-zero exit with the failure message, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "  step-2               git-push               Failed     3s  remote rejected the push\n") {
		t.Errorf("output lacks the failed step:\n%s", out)
	}
}

func TestPromoteRefusesFreightThatIsNotAvailable(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-refuse")
	_, _, err := h.run("-p", "promo-refuse", "promote", "--stage", "prod", "--freight-alias", "brave-otter")
	if err == nil || err.Error() != "Freight brave-otter is not available to Stage prod: not yet verified in uat" {
		t.Fatalf("got %v", err)
	}
	if n := countObjects(t, &haulv1.PromotionList{}, "promo-refuse"); n != 0 {
		t.Fatalf("%d promotions created", n)
	}

	// Approval makes it available.
	out := h.mustRun("-p", "promo-refuse", "approve", "--freight-alias", "brave-otter", "--stage", "prod")
	if out != "Freight brave-otter approved for Stage prod\n" {
		t.Fatalf("approve printed %q", out)
	}
	f := &haulv1.Freight{}
	if err := env.Client.Get(t.Context(), objKey("promo-refuse", "1111111111111111111111111111111111111111"), f); err != nil {
		t.Fatal(err)
	}
	if a, ok := f.Status.ApprovedFor["prod"]; !ok || a.ApprovedBy == "" || a.ApprovedAt == nil {
		t.Fatalf("approvedFor = %+v", f.Status.ApprovedFor)
	}
	h.mustRun("-p", "promo-refuse", "promote", "--stage", "prod", "--freight", "brave-otter")
}

func TestPromoteWarehousePicksTheNewestAvailableFreight(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-newest")
	// calm-heron is newer but only brave-otter is verified in test, upstream of uat.
	out := h.mustRun("-p", "promo-newest", "promote", "--stage", "uat", "--warehouse", "app")
	if !strings.Contains(out, "(Freight brave-otter → Stage uat)") {
		t.Fatalf("got %q", out)
	}
}

func TestPromoteDownstreamFrom(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-down")
	out := h.mustRun("-p", "promo-down", "promote", "--downstream-from", "test", "--freight-alias", "brave-otter")
	if !strings.Contains(out, "→ Stage uat)") || strings.Contains(out, "prod") {
		t.Fatalf("got %q", out)
	}
	onlyPromotion(t, "promo-down", "uat")

	_, _, err := h.run("-p", "promo-down", "promote", "--downstream-from", "test", "--freight-alias", "calm-heron")
	if err == nil || !strings.Contains(err.Error(), "not available to any Stage downstream of test") {
		t.Fatalf("got %v", err)
	}
}

func TestPromoteAbortSetsTheAnnotation(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-abort")
	h.mustRun("-p", "promo-abort", "promote", "--stage", "test", "--freight-alias", "calm-heron")
	p := onlyPromotion(t, "promo-abort", "test")
	out := h.mustRun("-p", "promo-abort", "promote", "--abort", p.Name)
	if out != "promotion.haul.dev/"+p.Name+" abort requested\n" {
		t.Fatalf("got %q", out)
	}
	p = onlyPromotion(t, "promo-abort", "test")
	if p.Annotations[haulv1.AnnotationAbort] == "" {
		t.Fatal("abort annotation not set")
	}
}

func TestPromoteWithoutThePromoteVerbIsForbidden(t *testing.T) {
	h := newHarness(t)
	ns := "promo-rbac"
	setupPipeline(t, h, ns)
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "creator", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"haul.dev"}, Resources: []string{"stages", "freights", "warehouses", "promotions"}, Verbs: []string{"get", "list", "watch", "create"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "creator", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "creator"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "bob"}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	bob := &harness{t: t, kubeconfig: writeKubeconfig(t, env.Config, "bob")}
	// Sanity: bob can impersonate and read.
	if c, err := env.Impersonate("bob"); err != nil {
		t.Fatal(err)
	} else if err := c.List(t.Context(), &haulv1.StageList{}, client.InNamespace(ns)); err != nil {
		t.Fatalf("bob cannot list stages: %v", err)
	}
	_, _, err := bob.run("-p", ns, "promote", "--stage", "test", "--freight-alias", "calm-heron")
	if err == nil || err.Error() != "you may not promote stage test in project promo-rbac (needs verb promote on stages)" {
		t.Fatalf("got %v", err)
	}
	_, _, err = bob.run("-p", ns, "delete", "stage", "prod")
	if err == nil || err.Error() != "you may not delete stage prod in project promo-rbac (needs verb delete on stages)" {
		t.Fatalf("got %v", err)
	}
	// A Promotion in a manifest needs the verb just the same.
	promo := "apiVersion: haul.dev/v1alpha1\nkind: Promotion\nmetadata: {name: by-hand}\nspec: {stage: test, freight: calm-heron}\n"
	_, _, err = bob.run("-p", ns, "apply", "-f", writeFile(t, "promo.yaml", promo))
	if err == nil || !strings.Contains(err.Error(), "you may not promote stage test in project promo-rbac (needs verb promote on stages)") {
		t.Fatalf("got %v", err)
	}
	if n := countObjects(t, &haulv1.PromotionList{}, ns); n != 0 {
		t.Fatalf("%d promotions created", n)
	}
}

func TestPromoteWaitRedrawsOnATerminal(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "promo-tty")
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = realIsTerminal })

	go drivePromotion(t, "promo-tty", "test", haulv1.PromotionSucceeded, "")
	out := h.mustRun("-p", "promo-tty", "promote", "--stage", "test", "--freight-alias", "calm-heron", "--wait")
	p := onlyPromotion(t, "promo-tty", "test")
	// Each redraw moves the cursor up over the previous block and clears it.
	if !strings.Contains(out, "\x1b[3A\x1b[J") {
		t.Fatalf("no redraw of the 3-line block:\n%q", out)
	}
	frames := strings.Split(out, "\x1b[3A\x1b[J")
	last := frames[len(frames)-1]
	want := "Promotion " + p.Name + ": Succeeded (5s)\n  clone                git-clone              Succeeded  2s\n  step-2               git-push               Succeeded  3s\nPromotion " + p.Name + " Succeeded in 5s\n"
	if last != want {
		t.Fatalf("last frame:\n%q\nwant:\n%q", last, want)
	}
}

// TestApproveCountsAndPauseFromTheCLI: on a Stage that needs two approvals, `haul
// approve` reports the count, `haul promote` refuses naming it, `haul get freight -o
// wide` shows it; `haul pause stage` and `haul resume stage` set and clear spec.paused.
func TestApproveCountsAndPauseFromTheCLI(t *testing.T) {
	h := newHarness(t)
	ns := "cli-gov"
	setupPipeline(t, h, ns)
	st := &haulv1.Stage{}
	must(t, env.Client.Get(t.Context(), objKey(ns, "prod"), st))
	st.Spec.Approval = &haulv1.ApprovalRequirement{RequiredApprovals: 2}
	must(t, env.Client.Update(t.Context(), st))

	out := h.mustRun("-p", ns, "approve", "--freight-alias", "brave-otter", "--stage", "prod")
	if out != "Freight brave-otter approved for Stage prod (1 of 2 approvals)\n" {
		t.Fatalf("approve printed %q", out)
	}
	_, _, err := h.run("-p", ns, "promote", "--stage", "prod", "--freight", "brave-otter")
	if err == nil || !strings.Contains(err.Error(), "Freight brave-otter is not available to Stage prod") {
		t.Fatalf("promote after 1 of 2 approvals: %v", err)
	}
	if out := h.mustRun("-p", ns, "get", "freight", "-o", "wide"); !strings.Contains(out, "prod:1/2") {
		t.Fatalf("get freight -o wide lacks prod:1/2:\n%s", out)
	}

	if out := h.mustRun("-p", ns, "pause", "stage", "prod"); out != "stage.haul.dev/prod paused\n" {
		t.Fatalf("pause printed %q", out)
	}
	must(t, env.Client.Get(t.Context(), objKey(ns, "prod"), st))
	if !st.Spec.Paused {
		t.Fatal("spec.paused not set")
	}
	h.mustRun("-p", ns, "resume", "stage", "prod")
	must(t, env.Client.Get(t.Context(), objKey(ns, "prod"), st))
	if st.Spec.Paused {
		t.Fatal("spec.paused still set after resume")
	}
	if _, _, err := h.run("-p", ns, "pause", "warehouse", "app"); err == nil || !strings.Contains(err.Error(), "pause works on a stage") {
		t.Fatalf("pause warehouse: %v", err)
	}
}
