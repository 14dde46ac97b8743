package stage

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// The rules of planRollback, one case each: what triggers a rollback, and every
// reason it holds back.
func TestPlanRollbackRules(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	wh := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}
	key := wh.String()
	stableF := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: "f-stable"}, Origin: wh, Alias: "one"}
	newF := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: "f-new"}, Origin: wh, Alias: "two"}
	at := func(ago time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-ago)} }
	promo := func(name, freight string, phase haulv1.PromotionPhase, rollback bool) *haulv1.Promotion {
		p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{haulv1.AnnotationCreateActor: "auto-promotion"}},
			Spec: haulv1.PromotionSpec{Freight: freight}, Status: haulv1.PromotionStatus{Phase: phase, FinishedAt: at(time.Minute)}}
		if rollback {
			p = promotion.NewRollback(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}, freight, "x", "t")
			p.Name, p.Status = name, haulv1.PromotionStatus{Phase: phase, FinishedAt: at(time.Minute)}
		}
		return p
	}
	stage := func(paused bool) *haulv1.Stage {
		s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}
		s.Spec.Paused = paused
		s.Status.FreightHistory = []haulv1.FreightCollection{{ID: "c2", Promotion: "p2",
			Items: map[string]haulv1.FreightReference{key: {Name: newF.Name, Alias: newF.Alias, Origin: wh}}}}
		return s
	}
	failed := &haulv1.VerificationResult{ID: "run1", Phase: haulv1.VerificationFailed, FinishedAt: at(time.Minute)}
	stable := map[string]string{key: stableF.Name}
	byName := map[string]*haulv1.Freight{stableF.Name: stableF, newF.Name: newF}
	obsWith := func(rb *haulv1.AutoRollbackConfig, promos ...*haulv1.Promotion) *observation {
		return &observation{autoRollback: rb, freightByName: byName, promotions: promos}
	}
	onVerify := &haulv1.AutoRollbackConfig{}
	succeeded := promo("p2", newF.Name, haulv1.PromotionSucceeded, false)

	for _, tc := range []struct {
		name    string
		s       *haulv1.Stage
		obs     *observation
		stable  map[string]string
		run     *haulv1.VerificationResult
		trigger string // "" means no rollback
	}{
		{"failed verification rolls back", stage(false), obsWith(onVerify, succeeded), stable, failed, "run1"},
		{"no policy", stage(false), obsWith(nil, succeeded), stable, failed, ""},
		{"paused Stage", stage(true), obsWith(onVerify, succeeded), stable, failed, ""},
		{"a Promotion is pending", stage(false), obsWith(onVerify, succeeded, promo("p3", newF.Name, haulv1.PromotionPending, false)), stable, failed, ""},
		{"no stable Freight", stage(false), obsWith(onVerify, succeeded), nil, failed, ""},
		{"the failed Freight is the stable one", stage(false), obsWith(onVerify, succeeded), map[string]string{key: newF.Name}, failed, ""},
		{"stable Freight gone", stage(false), obsWith(onVerify, succeeded), map[string]string{key: "deleted"}, failed, ""},
		{"the failure is older than 20 minutes", stage(false), obsWith(onVerify, succeeded), stable,
			&haulv1.VerificationResult{ID: "run1", Phase: haulv1.VerificationFailed, FinishedAt: at(21 * time.Minute)}, ""},
		{"errored verification, default policy", stage(false), obsWith(onVerify, succeeded), stable,
			&haulv1.VerificationResult{ID: "run1", Phase: haulv1.VerificationErrored, FinishedAt: at(time.Minute)}, ""},
		{"errored verification, onVerification Error", stage(false),
			obsWith(&haulv1.AutoRollbackConfig{OnVerification: []haulv1.RollbackVerificationPhase{"Error"}}, succeeded), stable,
			&haulv1.VerificationResult{ID: "run1", Phase: haulv1.VerificationErrored, FinishedAt: at(time.Minute)}, "run1"},
		{"inconclusive never rolls back", stage(false),
			obsWith(&haulv1.AutoRollbackConfig{OnVerification: []haulv1.RollbackVerificationPhase{"Failed", "Error"}}, succeeded), stable,
			&haulv1.VerificationResult{ID: "run1", Phase: haulv1.VerificationInconclusive, FinishedAt: at(time.Minute)}, ""},
		{"Freight a rollback brought is not rolled back", stage(false), obsWith(onVerify, promo("p2", newF.Name, haulv1.PromotionSucceeded, true)), stable, failed, ""},
		{"failed Promotion, onPromotion Failed", stage(false),
			obsWith(&haulv1.AutoRollbackConfig{OnPromotion: []haulv1.RollbackPromotionPhase{"Failed"}}, succeeded, promo("p3", newF.Name, haulv1.PromotionFailed, false)), stable, nil, "p3"},
		{"failed Promotion, default policy", stage(false), obsWith(onVerify, succeeded, promo("p3", newF.Name, haulv1.PromotionFailed, false)), stable, nil, ""},
		{"errored Promotion, onPromotion Failed only", stage(false),
			obsWith(&haulv1.AutoRollbackConfig{OnPromotion: []haulv1.RollbackPromotionPhase{"Failed"}}, succeeded, promo("p3", newF.Name, haulv1.PromotionErrored, false)), stable, nil, ""},
		{"a failed rollback is not rolled back", stage(false),
			obsWith(&haulv1.AutoRollbackConfig{OnPromotion: []haulv1.RollbackPromotionPhase{"Failed"}}, succeeded, promo("p3", newF.Name, haulv1.PromotionFailed, true)), stable, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planRollback(tc.s, tc.obs, tc.stable, tc.run, now)
			switch {
			case tc.trigger == "" && plan != nil:
				t.Fatalf("planned a rollback (%+v), want none", *plan)
			case tc.trigger != "" && plan == nil:
				t.Fatal("planned no rollback")
			case tc.trigger != "" && (plan.trigger != tc.trigger || plan.stable != stableF.Name || plan.failed != newF.Name):
				t.Fatalf("plan = %+v, want trigger %s from %s back to %s", *plan, tc.trigger, newF.Name, stableF.Name)
			}
		})
	}
}
