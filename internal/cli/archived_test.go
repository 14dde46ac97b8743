package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestGetPromotionsShowsArchivedRecords: after retention deleted a Promotion, `haul get
// promotions --archived` still shows who promoted what and when, from the Stage's
// promotion history, next to the live Promotions; without the flag it does not.
func TestGetPromotionsShowsArchivedRecords(t *testing.T) {
	h := newHarness(t)
	ns := "archived-demo"
	projectNamespace(t, ns)
	ctx := context.Background()
	live := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod.live"}, Spec: haulv1.PromotionSpec{Stage: "prod", Freight: "2222222222222222"}}
	must(t, env.Client.Create(ctx, live))
	finished := metav1.NewTime(time.Now().Add(-48 * time.Hour))
	recs, _ := json.Marshal([]haulv1.PromotionRecord{{
		Name: "prod.old", Stage: "prod", Freight: "1111111111111111", FreightAlias: "brave-otter",
		Phase: haulv1.PromotionSucceeded, Message: "all steps succeeded", Actor: "cli:alice",
		CreatedAt: finished, StartedAt: &finished, FinishedAt: &finished,
	}})
	must(t, env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: haulv1.PromotionHistoryPrefix + "prod", Labels: map[string]string{haulv1.LabelPromotionHistory: "prod"}},
		Data:       map[string]string{haulv1.PromotionHistoryKey: string(recs)},
	}))

	out := h.mustRun("-p", ns, "get", "promotions")
	if strings.Contains(out, "prod.old") {
		t.Fatalf("archived records listed without --archived:\n%s", out)
	}
	out = h.mustRun("-p", ns, "get", "promotions", "--archived", "-o", "wide")
	for _, want := range []string{"prod.live", "prod.old", "brave-otter", "Succeeded", "cli:alice", "(archived) all steps succeeded"} {
		if !strings.Contains(out, want) {
			t.Fatalf("--archived output lacks %q:\n%s", want, out)
		}
	}
	if out := h.mustRun("-p", ns, "get", "promotions", "--archived", "--stage", "uat"); strings.Contains(out, "prod.old") {
		t.Fatalf("--stage uat shows prod's records:\n%s", out)
	}
	if _, _, err := h.run("-p", ns, "get", "stages", "--archived"); err == nil || !strings.Contains(err.Error(), "promotions only") {
		t.Fatalf("--archived on stages: %v", err)
	}
}
