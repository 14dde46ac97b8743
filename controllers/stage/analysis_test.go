package stage_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

var rolloutsOnce sync.Once

// installRolloutsCRDs installs Argo Rollouts' real AnalysisTemplate and AnalysisRun
// CRDs (vendored under testdata) once.
func installRolloutsCRDs(t *testing.T) {
	t.Helper()
	rolloutsOnce.Do(func() {
		files, _ := filepath.Glob("testdata/rollouts/*.yaml")
		for _, f := range files {
			b, err := os.ReadFile(f)
			must(t, err)
			crd := &apiextensionsv1.CustomResourceDefinition{}
			must(t, yaml.Unmarshal(b, crd))
			must(t, env.Client.Create(ctx, crd))
			eventually(t, "CRD "+crd.Name, func() (bool, string) {
				got := &apiextensionsv1.CustomResourceDefinition{}
				if err := env.Client.Get(ctx, client.ObjectKey{Name: crd.Name}, got); err != nil {
					return false, err.Error()
				}
				for _, c := range got.Status.Conditions {
					if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
						return true, ""
					}
				}
				return false, "not established"
			})
		}
	})
}

func analysisRunOf(t *testing.T, ns, stageName string) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	eventually(t, "the AnalysisRun of the latest verification", func() (bool, string) {
		run := latestRun(getStage(t, ns, stageName))
		if run == nil || run.AnalysisRun == "" {
			return false, "no AnalysisRun recorded yet"
		}
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("argoproj.io/v1alpha1")
		u.SetKind("AnalysisRun")
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: run.AnalysisRun}, u); err != nil {
			return false, err.Error()
		}
		found = u
		return true, ""
	})
	return found
}

// finishAnalysisRun is a test double for the Argo Rollouts analysis controller: it
// writes the phase and message the controller would.
func finishAnalysisRun(t *testing.T, ar *unstructured.Unstructured, phase, message string) {
	t.Helper()
	_ = unstructured.SetNestedField(ar.Object, phase, "status", "phase")
	_ = unstructured.SetNestedField(ar.Object, message, "status", "message")
	must(t, env.Client.Update(ctx, ar))
}

func TestVerificationAnalysisRun_WithRolloutsControllerTestDouble(t *testing.T) {
	startManager(t)
	installRolloutsCRDs(t)
	ns := project(t, "verify-analysis", true)
	tpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
		"metadata": map[string]any{"name": "smoke", "namespace": ns},
		"spec": map[string]any{"metrics": []any{map[string]any{
			"name": "health", "provider": map[string]any{"web": map[string]any{"url": "http://app.example/health"}}}}},
	}}
	must(t, env.Client.Create(ctx, tpl))
	s := newStage(ns, "test")
	s.Spec.Verification = &haulv1.Verification{AnalysisTemplates: []haulv1.AnalysisTemplateReference{{Name: "smoke"}}}
	must(t, env.Client.Create(ctx, s))

	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f)
	ar := analysisRunOf(t, ns, "test")
	metrics, _, _ := unstructured.NestedSlice(ar.Object, "spec", "metrics")
	if len(metrics) != 1 {
		t.Fatalf("AnalysisRun metrics = %v, want the template's", metrics)
	}
	if got := latestRun(getStage(t, ns, "test")).Phase; got != "Running" {
		t.Errorf("verification is %s while the analysis runs", got)
	}
	finishAnalysisRun(t, ar, "Successful", "")
	waitRun(t, ns, "test", "Succeeded", 1)
	eventually(t, "Freight verified", func() (bool, string) {
		_, ok := getFreight(t, ns, f.Name).Status.VerifiedIn["test"]
		return ok, ""
	})

	g := newFreight(t, ns, "two")
	waitCurrent(t, ns, "test", g)
	ar = analysisRunOf(t, ns, "test")
	finishAnalysisRun(t, ar, "Failed", "metric \"health\" assessed Failed due to failed (1) > failureLimit (0)")
	run := waitRun(t, ns, "test", "Failed", 1)
	if !strings.Contains(run.Message, "failureLimit") {
		t.Errorf("failure message %q does not carry the analysis message", run.Message)
	}
}
