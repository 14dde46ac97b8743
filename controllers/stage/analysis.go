package stage

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Argo Rollouts' analysis kinds, used as unstructured data so that Rollouts' Go module
// never enters Haul's dependencies.
var (
	analysisTemplateGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}
	analysisRunGVR      = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
)

// rolloutsInstalled says whether the AnalysisRun CRD is served.
func (r *Reconciler) rolloutsInstalled() bool {
	_, err := r.RESTMapper().RESTMapping(schema.GroupKind{Group: "argoproj.io", Kind: "AnalysisRun"}, "v1alpha1")
	return err == nil
}

// runAnalysis creates the verification run's AnalysisRun from the Stage's
// analysisTemplates (metrics and args merged, in order) the first time, then follows
// it. done is false while Argo Rollouts is still measuring.
func (r *Reconciler) runAnalysis(ctx context.Context, s *haulv1.Stage, run *haulv1.VerificationResult) (done bool, phase haulv1.VerificationPhase, msg string, err error) {
	runs := r.Dynamic.Resource(analysisRunGVR).Namespace(s.Namespace)
	if run.AnalysisRun == "" {
		var metrics, args []any
		seenArg := map[string]bool{}
		for i, ref := range s.Spec.Verification.AnalysisTemplates {
			tpl, err := r.Dynamic.Resource(analysisTemplateGVR).Namespace(s.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, VerificationErrored, fmt.Sprintf("spec.verification.analysisTemplates[%d]: AnalysisTemplate %s not found", i, ref.Name), nil
			}
			if err != nil {
				return false, "", "", fmt.Errorf("reading AnalysisTemplate %s: %w", ref.Name, err)
			}
			m, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "metrics")
			metrics = append(metrics, m...)
			a, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "args")
			for _, arg := range a {
				name, _ := arg.(map[string]any)["name"].(string)
				if !seenArg[name] {
					seenArg[name] = true
					args = append(args, arg)
				}
			}
		}
		name := s.Name + "-" + run.ID
		ar := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
			"metadata": map[string]any{"name": name, "namespace": s.Namespace,
				"labels": map[string]any{haulv1.LabelStage: s.Name}},
			"spec": map[string]any{"metrics": metrics},
		}}
		if len(args) > 0 {
			_ = unstructured.SetNestedSlice(ar.Object, args, "spec", "args")
		}
		if _, err := runs.Create(ctx, ar, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			if apierrors.IsInvalid(err) {
				return true, VerificationErrored, fmt.Sprintf("creating AnalysisRun %s: %v", name, err), nil
			}
			return false, "", "", fmt.Errorf("creating AnalysisRun %s: %w", name, err)
		}
		run.AnalysisRun = name
		return false, "", "AnalysisRun " + name + " created", nil
	}
	ar, err := runs.Get(ctx, run.AnalysisRun, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, VerificationErrored, fmt.Sprintf("AnalysisRun %s was deleted", run.AnalysisRun), nil
	}
	if err != nil {
		return false, "", "", fmt.Errorf("reading AnalysisRun %s: %w", run.AnalysisRun, err)
	}
	p, _, _ := unstructured.NestedString(ar.Object, "status", "phase")
	m, _, _ := unstructured.NestedString(ar.Object, "status", "message")
	switch p {
	case "Successful":
		return true, VerificationSucceeded, fmt.Sprintf("AnalysisRun %s successful", run.AnalysisRun), nil
	case "Failed", "Error", "Inconclusive":
		return true, VerificationFailed, fmt.Sprintf("AnalysisRun %s %s: %s", run.AnalysisRun, p, m), nil
	default:
		return false, "", fmt.Sprintf("AnalysisRun %s is %s", run.AnalysisRun, orName(p, "Pending")), nil
	}
}

// terminateAnalysis asks Argo Rollouts to stop an aborted run's AnalysisRun.
func (r *Reconciler) terminateAnalysis(ctx context.Context, ns, name string) {
	if name == "" || r.Dynamic == nil {
		return
	}
	_, _ = r.Dynamic.Resource(analysisRunGVR).Namespace(ns).Patch(ctx, name, types.MergePatchType,
		[]byte(`{"spec":{"terminate":true}}`), metav1.PatchOptions{})
}
