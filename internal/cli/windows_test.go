package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestFreezeFromTheCLI: `haul apply` refuses a window it cannot parse, naming the field
// and value; inside a Deny window `haul promote` refuses naming the window and when it
// opens; with --override-reason an admin's Promotion is created and records who and why.
// A Kargo ClusterConfig applies as Haul's and `haul get clusterconfig` lists it.
func TestFreezeFromTheCLI(t *testing.T) {
	h := newHarness(t)
	ns := "cli-freeze"
	setupPipeline(t, h, ns)
	ical := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	cfg := func(rrule string) string {
		return "apiVersion: haul.dev/v1alpha1\nkind: ProjectConfig\nmetadata: {name: " + ns + "}\nspec:\n  promotionWindows:\n" +
			"  - {name: release-freeze, kind: Deny, stageSelector: {name: uat}, rrule: \"" + rrule + "\", dtstart: " +
			ical(until.Add(-2*time.Hour)) + ", dtend: " + ical(until) + "}\n"
	}
	if _, _, err := h.run("-p", ns, "apply", "-f", writeFile(t, "bad.yaml", cfg("FREQ=HOURLYISH"))); err == nil ||
		!strings.Contains(err.Error(), `spec.promotionWindows[0].rrule "FREQ=HOURLYISH"`) {
		t.Fatalf("applying a bad rrule: %v", err)
	}
	h.mustRun("-p", ns, "apply", "-f", writeFile(t, "freeze.yaml", cfg("FREQ=DAILY")))

	_, _, err := h.run("-p", ns, "promote", "--stage", "uat", "--freight-alias", "brave-otter")
	want := "promotion window closed until " + until.UTC().Format(time.RFC3339) + " (window release-freeze)"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--override-reason") {
		t.Fatalf("promote in a freeze: %v, want %q", err, want)
	}
	var list haulv1.PromotionList
	must(t, env.Client.List(t.Context(), &list, client.InNamespace(ns)))
	if len(list.Items) != 0 {
		t.Fatalf("a refused promote created %d Promotions", len(list.Items))
	}

	out := h.mustRun("-p", ns, "promote", "--stage", "uat", "--freight-alias", "brave-otter", "--override-reason", "hotfix INC-7")
	if !strings.Contains(out, "created (Freight brave-otter → Stage uat)") {
		t.Fatalf("override printed %q", out)
	}
	must(t, env.Client.List(t.Context(), &list, client.InNamespace(ns)))
	if len(list.Items) != 1 {
		t.Fatalf("want one Promotion, got %d", len(list.Items))
	}
	got := list.Items[0].Annotations[haulv1.AnnotationWindowOverride]
	if !strings.HasPrefix(got, "cli:") || !strings.HasSuffix(got, ": hotfix INC-7") {
		t.Fatalf("recorded override = %q, want cli:<you>: hotfix INC-7", got)
	}
	// test is not selected by the window: no reason needed.
	h.mustRun("-p", ns, "promote", "--stage", "test", "--freight-alias", "calm-heron")

	// A Kargo ClusterConfig applies as Haul's (a freeze next year, so no other test
	// meets it) and lists.
	cc := "apiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: cluster}\nspec:\n  promotionWindows:\n" +
		"  - {name: new-year, kind: Deny, dtstart: " + ical(time.Now().AddDate(1, 0, 0)) + ", dtend: " + ical(time.Now().AddDate(1, 0, 1)) + "}\n"
	h.mustRun("apply", "-f", writeFile(t, "cluster.yaml", cc))
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &haulv1.ClusterConfig{ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName}})
	})
	if out := h.mustRun("get", "clusterconfig"); !strings.Contains(out, "cluster") || !strings.Contains(out, "1 (1 deny)") {
		t.Fatalf("get clusterconfig:\n%s", out)
	}
}
