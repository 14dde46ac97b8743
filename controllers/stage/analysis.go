package stage

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// Argo Rollouts' analysis kinds, used as unstructured data so that Rollouts' Go module
// never enters Haul's dependencies.
var (
	analysisTemplateGVR        = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}
	clusterAnalysisTemplateGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "clusteranalysistemplates"}
	analysisRunGVR             = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
)

// Template kinds of spec.verification.analysisTemplates[].kind.
const (
	kindAnalysisTemplate        = "AnalysisTemplate"
	kindClusterAnalysisTemplate = "ClusterAnalysisTemplate"
)

// AnnotationFreightCollection on an AnalysisRun names the Freight collection it verifies.
const AnnotationFreightCollection = "haul.dev/freight-collection"

// rolloutsMissing says why analysis cannot run when the Argo Rollouts CRDs are not served.
const rolloutsMissing = "Argo Rollouts is not installed (the argoproj.io/v1alpha1 AnalysisRun CRD is not served), so spec.verification.analysisTemplates cannot run and the Freight stays unverified"

// rolloutsInstalled says whether the AnalysisRun CRD is served.
func (r *Reconciler) rolloutsInstalled() bool {
	_, err := r.RESTMapper().RESTMapping(schema.GroupKind{Group: "argoproj.io", Kind: "AnalysisRun"}, "v1alpha1")
	return err == nil
}

// configError is a verification setting that cannot work as written: the run errors
// with its message instead of being retried.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, a ...any) error { return &configError{fmt.Sprintf(format, a...)} }

// runAnalysis creates the verification run's AnalysisRun the first time, then follows
// it. done is false while Argo Rollouts is still measuring.
func (r *Reconciler) runAnalysis(ctx context.Context, s *haulv1.Stage, c *haulv1.FreightCollection, run *haulv1.VerificationResult) (done bool, phase haulv1.VerificationPhase, msg string, err error) {
	runs := r.Dynamic.Resource(analysisRunGVR).Namespace(s.Namespace)
	if run.AnalysisRun == "" {
		ar, err := r.buildAnalysisRun(ctx, s, c, run)
		var cfgErr *configError
		if errors.As(err, &cfgErr) {
			return true, VerificationErrored, cfgErr.msg, nil
		}
		if err != nil {
			return false, "", "", err
		}
		if _, err := runs.Create(ctx, ar, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			if apierrors.IsInvalid(err) || meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				return true, VerificationErrored, fmt.Sprintf("creating AnalysisRun %s: %v", ar.GetName(), err), nil
			}
			return false, "", "", fmt.Errorf("creating AnalysisRun %s: %w", ar.GetName(), err)
		}
		run.AnalysisRun = ar.GetName()
		return false, "", "AnalysisRun " + ar.GetName() + " created", nil
	}
	ar, err := runs.Get(ctx, run.AnalysisRun, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
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
	case "Inconclusive":
		return true, haulv1.VerificationInconclusive, fmt.Sprintf("AnalysisRun %s inconclusive: %s", run.AnalysisRun, orName(m, "a metric was inconclusive")), nil
	case "Failed":
		return true, VerificationFailed, fmt.Sprintf("AnalysisRun %s failed: %s", run.AnalysisRun, m), nil
	case "Error":
		// The metric could not be measured (provider unreachable, bad query): nothing
		// was judged, as a verification whose checks could not run. Kargo keeps the
		// AnalysisRun's Error too.
		return true, VerificationErrored, fmt.Sprintf("AnalysisRun %s errored: %s", run.AnalysisRun, m), nil
	default:
		return false, "", fmt.Sprintf("AnalysisRun %s is %s", run.AnalysisRun, orName(p, "Pending")), nil
	}
}

// buildAnalysisRun merges the Stage's templates into one AnalysisRun as Kargo does:
// metrics concatenated (names unique), dryRun and measurementRetention concatenated,
// template args merged by name (conflicting values refused), then the Stage's
// spec.verification.args evaluated and set over them, and analysisRunMetadata applied.
func (r *Reconciler) buildAnalysisRun(ctx context.Context, s *haulv1.Stage, c *haulv1.FreightCollection, run *haulv1.VerificationResult) (*unstructured.Unstructured, error) {
	v := s.Spec.Verification
	var metrics, dryRun, retention, args []any
	seenMetric := map[string]int{}
	argIndex := map[string]int{}
	for i, ref := range v.AnalysisTemplates {
		tpl, err := r.getAnalysisTemplate(ctx, s.Namespace, i, ref)
		if err != nil {
			return nil, err
		}
		where := fmt.Sprintf("spec.verification.analysisTemplates[%d] (%s %s)", i, orName(ref.Kind, kindAnalysisTemplate), ref.Name)
		m, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "metrics")
		for _, metric := range m {
			name, _ := metric.(map[string]any)["name"].(string)
			if j, dup := seenMetric[name]; dup {
				return nil, configErrorf("%s: metric %q is also defined by spec.verification.analysisTemplates[%d]; metric names must be unique", where, name, j)
			}
			seenMetric[name] = i
			metrics = append(metrics, metric)
		}
		d, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "dryRun")
		dryRun = append(dryRun, d...)
		mr, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "measurementRetention")
		retention = append(retention, mr...)
		a, _, _ := unstructured.NestedSlice(tpl.Object, "spec", "args")
		for _, arg := range a {
			am, _ := arg.(map[string]any)
			name, _ := am["name"].(string)
			j, seen := argIndex[name]
			if !seen {
				argIndex[name] = len(args)
				args = append(args, am)
				continue
			}
			prev := args[j].(map[string]any)
			pv, pok := prev["value"].(string)
			nv, nok := am["value"].(string)
			if pok && nok && pv != nv {
				return nil, configErrorf("%s: argument %q has value %q here and %q in an earlier template", where, name, nv, pv)
			}
			if !pok && nok {
				prev["value"] = nv
			}
		}
	}

	if len(v.Args) > 0 {
		eng := &promotion.Engine{Services: &promotion.Services{Dynamic: r.Dynamic, Kube: r.Kube, Now: r.now}}
		env, err := eng.RequestEnv(ctx, promotion.Request{
			Project: s.Namespace, Stage: s.Name, Promotion: c.Promotion, Freight: primaryFreight(c), Vars: s.Spec.Vars,
		})
		if err != nil {
			return nil, configErrorf("spec.vars: %v", err)
		}
		for i, a := range v.Args {
			if a.Value == "" {
				continue
			}
			val, ok, err := eng.EvalString(a.Value, env)
			if err != nil {
				return nil, configErrorf("spec.verification.args[%d] (%s): %v", i, a.Name, err)
			}
			if !ok {
				return nil, configErrorf("spec.verification.args[%d] (%s): %q does not evaluate to a string", i, a.Name, a.Value)
			}
			if j, declared := argIndex[a.Name]; declared {
				m := args[j].(map[string]any)
				m["value"] = val
				delete(m, "valueFrom")
			}
		}
	}
	for _, a := range args {
		m := a.(map[string]any)
		if _, ok := m["value"]; ok {
			continue
		}
		if _, ok := m["valueFrom"]; ok {
			continue
		}
		return nil, configErrorf("spec.verification: AnalysisRun argument %q has no value: give it one in spec.verification.args or in the template", m["name"])
	}

	labels, annotations := map[string]any{}, map[string]any{}
	if md := v.AnalysisRunMetadata; md != nil {
		for k, val := range md.Labels {
			labels[k] = val
		}
		for k, val := range md.Annotations {
			annotations[k] = val
		}
	}
	labels[haulv1.LabelStage] = s.Name
	annotations[AnnotationFreightCollection] = c.ID
	if c.Promotion != "" {
		annotations[haulv1.AnnotationPromotion] = c.Promotion
	}
	spec := map[string]any{"metrics": metrics}
	if len(args) > 0 {
		spec["args"] = args
	}
	if len(dryRun) > 0 {
		spec["dryRun"] = dryRun
	}
	if len(retention) > 0 {
		spec["measurementRetention"] = retention
	}
	meta := map[string]any{"name": s.Name + "-" + run.ID, "namespace": s.Namespace, "labels": labels}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun", "metadata": meta, "spec": spec,
	}}, nil
}

// getAnalysisTemplate reads the i-th referenced template, namespaced or cluster-scoped.
func (r *Reconciler) getAnalysisTemplate(ctx context.Context, ns string, i int, ref haulv1.AnalysisTemplateReference) (*unstructured.Unstructured, error) {
	var (
		tpl *unstructured.Unstructured
		err error
	)
	kind := orName(ref.Kind, kindAnalysisTemplate)
	switch kind {
	case kindAnalysisTemplate:
		tpl, err = r.Dynamic.Resource(analysisTemplateGVR).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	case kindClusterAnalysisTemplate:
		tpl, err = r.Dynamic.Resource(clusterAnalysisTemplateGVR).Get(ctx, ref.Name, metav1.GetOptions{})
	default:
		return nil, configErrorf("spec.verification.analysisTemplates[%d].kind: %q is neither AnalysisTemplate nor ClusterAnalysisTemplate", i, ref.Kind)
	}
	switch {
	case err == nil:
		return tpl, nil
	case meta.IsNoMatchError(err):
		return nil, configErrorf("spec.verification.analysisTemplates[%d]: %s (no %s CRD either)", i, rolloutsMissing, kind)
	case apierrors.IsNotFound(err):
		where := "in namespace " + ns
		if kind == kindClusterAnalysisTemplate {
			where = "(cluster-scoped)"
		}
		return nil, configErrorf("spec.verification.analysisTemplates[%d]: %s %s not found %s", i, kind, ref.Name, where)
	default:
		return nil, fmt.Errorf("reading %s %s: %w", kind, ref.Name, err)
	}
}

// terminateAnalysis asks Argo Rollouts to stop the AnalysisRun of a verification run
// that was aborted or superseded. An AnalysisRun already gone needs no stopping; any
// other failure is returned, so the pass is retried before the abort is recorded and
// the AnalysisRun does not go on measuring unseen.
func (r *Reconciler) terminateAnalysis(ctx context.Context, ns, name string) error {
	if name == "" || r.Dynamic == nil {
		return nil
	}
	_, err := r.Dynamic.Resource(analysisRunGVR).Namespace(ns).Patch(ctx, name, types.MergePatchType,
		[]byte(`{"spec":{"terminate":true}}`), metav1.PatchOptions{})
	if err == nil || apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	return fmt.Errorf("terminating AnalysisRun %s: %w", name, err)
}
