package promotion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
	promo "github.com/haul-dev/haul/promotion"
)

// patchStage merge-patches a Stage's spec as a user editing it would.
func patchStage(t *testing.T, ns, name, spec string) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":`+spec+`}`))
	if err := env.Client.Patch(context.Background(), &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch); err != nil {
		t.Fatal(err)
	}
}

// staysPending checks a Promotion stays Pending with the given message for a while: it does not start.
func staysPending(t *testing.T, ns, name, message string) {
	t.Helper()
	eventually(t, 30*time.Second, "Promotion "+name+" to wait with "+message, func() bool {
		p := phase(t, ns, name)
		return p.Status.Phase == haulv1.PromotionPending && strings.Contains(p.Status.Message, message)
	})
	time.Sleep(time.Second)
	if p := phase(t, ns, name); p.Status.Phase != haulv1.PromotionPending || p.Status.StartedAt != nil {
		t.Fatalf("Promotion %s did not keep waiting: %s: %s", name, p.Status.Phase, p.Status.Message)
	}
}

// TestPausedStageStartsNoPromotion: a Promotion of a paused Stage stays Pending with
// "stage is paused"; a Running one finishes; resuming starts the waiting one.
func TestPausedStageStartsNoPromotion(t *testing.T) {
	ns := env.Namespace(t, "promo-pause")
	startController(t, t.TempDir())
	gate := newGate(t)
	makeStage(t, ns, "p", []haulv1.PromotionStep{rawStep("http", "wait", map[string]any{
		"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "100ms"})})
	makeFreight(t, ns, "aaaaaaaaaaaa7", "1.0.0")
	running := promote(t, ns, "p", "aaaaaaaaaaaa7")
	eventually(t, 30*time.Second, "the first Promotion to run", func() bool {
		return phase(t, ns, running).Status.Phase == haulv1.PromotionRunning
	})

	patchStage(t, ns, "p", `{"paused":true}`)
	waiting := promote(t, ns, "p", "aaaaaaaaaaaa7")
	staysPending(t, ns, waiting, promotion.MsgStagePaused)

	// The running one is not touched by the pause.
	gate.open()
	if p := waitTerminal(t, ns, running, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("the running Promotion: %s: %s", p.Status.Phase, p.Status.Message)
	}
	staysPending(t, ns, waiting, promotion.MsgStagePaused)

	patchStage(t, ns, "p", `{"paused":false}`)
	if p := waitTerminal(t, ns, waiting, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("after resume: %s: %s", p.Status.Phase, p.Status.Message)
	}
}

// TestNewerPromotionSupersedesPending: with supersedePending, older Pending Promotions
// end Aborted naming the newest one; the Running one finishes; the newest runs.
func TestNewerPromotionSupersedesPending(t *testing.T) {
	ns := env.Namespace(t, "promo-supersede")
	startController(t, t.TempDir())
	gate := newGate(t)
	makeStage(t, ns, "s", []haulv1.PromotionStep{rawStep("http", "wait", map[string]any{
		"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "100ms"})})
	patchStage(t, ns, "s", `{"promotionQueue":{"supersedePending":true}}`)
	makeFreight(t, ns, "bbbbbbbbbbbb1", "1.0.0")
	makeFreight(t, ns, "bbbbbbbbbbbb2", "1.0.1")
	makeFreight(t, ns, "bbbbbbbbbbbb3", "1.0.2")
	running := promote(t, ns, "s", "bbbbbbbbbbbb1")
	eventually(t, 30*time.Second, "the first Promotion to run", func() bool {
		return phase(t, ns, running).Status.Phase == haulv1.PromotionRunning
	})
	older := promote(t, ns, "s", "bbbbbbbbbbbb2")
	staysPending(t, ns, older, "waiting for Promotion "+running)
	newest := promote(t, ns, "s", "bbbbbbbbbbbb3")

	p := waitTerminal(t, ns, older, 30*time.Second)
	if p.Status.Phase != haulv1.PromotionAborted || p.Status.SupersededBy != newest ||
		!strings.Contains(p.Status.Message, "superseded by newer Promotion "+newest) {
		t.Fatalf("older Pending: %s supersededBy=%q: %s", p.Status.Phase, p.Status.SupersededBy, p.Status.Message)
	}
	if p := phase(t, ns, running); p.Status.Phase != haulv1.PromotionRunning {
		t.Fatalf("the Running Promotion was touched: %s: %s", p.Status.Phase, p.Status.Message)
	}
	gate.open()
	for _, n := range []string{running, newest} {
		if p := waitTerminal(t, ns, n, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded || p.Status.SupersededBy != "" {
			t.Fatalf("%s: %s: %s", n, p.Status.Phase, p.Status.Message)
		}
	}
}

// TestPendingPromotionsQueueWithoutSupersede: the default keeps every Pending one.
func TestPendingPromotionsQueueWithoutSupersede(t *testing.T) {
	ns := env.Namespace(t, "promo-nosupersede")
	startController(t, t.TempDir())
	gate := newGate(t)
	makeStage(t, ns, "s", []haulv1.PromotionStep{rawStep("http", "wait", map[string]any{
		"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "100ms"})})
	makeFreight(t, ns, "cccccccccccc1", "1.0.0")
	var names []string
	for range 3 {
		names = append(names, promote(t, ns, "s", "cccccccccccc1"))
	}
	gate.open()
	for _, n := range names {
		if p := waitTerminal(t, ns, n, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("%s: %s: %s", n, p.Status.Phase, p.Status.Message)
		}
	}
}

// TestForbidSelfApprovalExcludesRequester: on a Stage that needs one approval and
// forbids self-approval, a Promotion created (e.g. with kubectl) by the only approver
// waits; an approval by somebody else starts it. A Promotion that does not say who
// asked for it waits too.
func TestForbidSelfApprovalExcludesRequester(t *testing.T) {
	ns := env.Namespace(t, "promo-foureyes")
	startController(t, t.TempDir())
	makeStage(t, ns, "prod", []haulv1.PromotionStep{rawStep("http", "ok", map[string]any{
		"url": newOpenGate(t), "successExpression": "response.status == 200"})})
	patchStage(t, ns, "prod", `{"approval":{"requiredApprovals":1,"forbidSelfApproval":true}}`)
	makeFreight(t, ns, "dddddddddddd1", "1.0.0")
	approve(t, ns, "dddddddddddd1", "prod", "alice")

	mine := promo.New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod"}}, "dddddddddddd1", "kubectl:alice")
	if err := env.Client.Create(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	staysPending(t, ns, mine.Name, "waiting for approval: Freight a-dddddd needs approval for Stage prod: 0 of 1 approvals (the approval of alice, who requested the Promotion, does not count)")

	anonymous := promote(t, ns, "prod", "dddddddddddd1") // no haul.dev/create-actor
	approve(t, ns, "dddddddddddd1", "prod", "bob")
	if p := waitTerminal(t, ns, mine.Name, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("after bob approved: %s: %s", p.Status.Phase, p.Status.Message)
	}
	staysPending(t, ns, anonymous, "forbids self-approval and this Promotion has no haul.dev/create-actor annotation")
}

// approve records an approval in Freight status as the Haul server does.
func approve(t *testing.T, ns, freight, stage, who string) {
	t.Helper()
	f := &haulv1.Freight{}
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: freight}, f); err != nil {
		t.Fatal(err)
	}
	f.Status.Approvals = append(f.Status.Approvals, haulv1.FreightApproval{Stage: stage, Identity: who, ApprovedAt: &metav1.Time{Time: time.Now()}})
	if err := env.Client.Status().Update(ctx, f); err != nil {
		t.Fatal(err)
	}
}

func newOpenGate(t *testing.T) string {
	g := newGate(t)
	g.open()
	return g.URL
}
