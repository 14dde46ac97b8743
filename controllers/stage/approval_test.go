package stage_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// addApproval records one person's approval of f for a Stage, as the Haul server does.
func addApproval(t *testing.T, f *haulv1.Freight, stageName, who string) {
	t.Helper()
	cur := getFreight(t, f.Namespace, f.Name)
	cur.Status.Approvals = append(cur.Status.Approvals, haulv1.FreightApproval{
		Stage: stageName, Identity: who, ApprovedAt: &metav1.Time{Time: time.Now()},
	})
	must(t, env.Client.Status().Update(ctx, cur))
}

// TestApprovalPolicyHoldsPromotion: a ProjectConfig approval policy asking two
// approvals for prod-* holds auto-promotion of Freight that test verified; one
// approval is not enough, the second promotes it. A Stage the policy does not select
// auto-promotes as before.
func TestApprovalPolicyHoldsPromotion(t *testing.T) {
	startManager(t)
	ns := project(t, "approvalpolicy", true)
	cfg := &haulv1.ProjectConfig{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ns}, cfg))
	cfg.Spec.ApprovalPolicies = []haulv1.ApprovalPolicy{{
		StageSelector:       haulv1.StageSelector{Name: "glob:prod-*"},
		ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 2},
	}}
	must(t, env.Client.Update(ctx, cfg))
	for _, s := range []*haulv1.Stage{newStage(ns, "test"), newStage(ns, "prod-eu", "test"), newStage(ns, "qa", "test")} {
		must(t, env.Client.Create(ctx, s))
	}
	f := newFreight(t, ns, "held")
	waitCurrent(t, ns, "qa", f)
	eventually(t, "held to be verified in test", func() (bool, string) {
		_, ok := getFreight(t, ns, f.Name).Status.VerifiedIn["test"]
		return ok, "not yet"
	})
	settle(t, ns, "prod-eu")
	if ps := promotionsOf(t, ns, "prod-eu"); len(ps) != 0 {
		t.Fatalf("unapproved Freight was auto-promoted: %s", describePromotions(t, ns, "prod-eu"))
	}
	addApproval(t, f, "prod-eu", "alice")
	addApproval(t, f, "prod-eu", "alice") // the same person twice counts once
	settle(t, ns, "prod-eu")
	if ps := promotionsOf(t, ns, "prod-eu"); len(ps) != 0 {
		t.Fatalf("Freight with 1 of 2 approvals was auto-promoted: %s", describePromotions(t, ns, "prod-eu"))
	}
	addApproval(t, f, "prod-eu", "bob")
	waitCurrent(t, ns, "prod-eu", f)
}

// TestPausedStageGetsNoAutoPromotion: auto-promotion creates nothing for a paused
// Stage, and promotes once it is resumed.
func TestPausedStageGetsNoAutoPromotion(t *testing.T) {
	startManager(t)
	ns := project(t, "pausedauto", true)
	s := newStage(ns, "test")
	s.Spec.Paused = true
	must(t, env.Client.Create(ctx, s))
	f := newFreight(t, ns, "waits")
	settle(t, ns, "test")
	if ps := promotionsOf(t, ns, "test"); len(ps) != 0 {
		t.Fatalf("a paused Stage got an auto-promotion: %s", describePromotions(t, ns, "test"))
	}
	cur := getStage(t, ns, "test")
	cur.Spec.Paused = false
	must(t, env.Client.Update(ctx, cur))
	waitCurrent(t, ns, "test", f)
}
