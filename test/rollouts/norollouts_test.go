//go:build !rollouts

package rollouts

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestVerificationWithoutRolloutsNeverPasses: on an API server without Argo Rollouts'
// CRDs, a Stage whose verification names an AnalysisTemplate (and one naming a
// ClusterAnalysisTemplate) errors with a message saying Rollouts is not installed, its
// Verified condition is False and the Freight is not marked verified.
func TestVerificationWithoutRolloutsNeverPasses(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "no-rollouts")
	for _, ref := range []haulv1.AnalysisTemplateReference{
		{Name: "smoke"}, {Name: "global-smoke", Kind: "ClusterAnalysisTemplate"},
	} {
		name := strings.ToLower(strings.TrimSuffix(orKind(ref.Kind), "AnalysisTemplate")) + "tpl"
		t.Run(name, func(t *testing.T) {
			must(t, env.Client.Create(ctx, newStage(ns, name, &haulv1.Verification{AnalysisTemplates: []haulv1.AnalysisTemplateReference{ref}})))
			f := promote(t, ns, name, "1")
			run := waitRun(t, ns, name, f, time.Minute)
			if run.Phase != haulv1.VerificationErrored {
				t.Fatalf("verification without Argo Rollouts is %s (%s), want Errored", run.Phase, run.Message)
			}
			if !strings.Contains(run.Message, "Argo Rollouts is not installed") {
				t.Errorf("message %q does not say Argo Rollouts is not installed", run.Message)
			}
			s := getStage(t, ns, name)
			c := meta.FindStatusCondition(s.Status.Conditions, haulv1.ConditionVerified)
			if c == nil || c.Status != "False" || !strings.Contains(c.Message, "Argo Rollouts is not installed") {
				t.Errorf("Verified condition = %+v, want False saying Rollouts is not installed", c)
			}
			got := &haulv1.Freight{}
			must(t, env.Client.Get(ctx, clientKey(ns, f.Name), got))
			if _, ok := got.Status.VerifiedIn[name]; ok {
				t.Errorf("Freight %s was marked verified in %s although no analysis could run", f.Alias, name)
			}
		})
	}
}

func orKind(k string) string {
	if k == "" {
		return "AnalysisTemplate"
	}
	return k
}
