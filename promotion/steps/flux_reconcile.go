package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// fluxRequestedAtAnnotation asks a Flux controller to reconcile now; Flux echoes the
// value in status.lastHandledReconcileAt once it has.
const fluxRequestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"

// fluxKinds are the Flux kinds flux-reconcile understands, at their GA versions.
var fluxKinds = map[string]schema.GroupVersionResource{
	"GitRepository": {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"},
	"Kustomization": {Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"},
	"HelmRelease":   {Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"},
}

type fluxResource struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

func (r fluxResource) namespace() string {
	if r.Namespace == "" {
		return "flux-system"
	}
	return r.Namespace
}

type fluxReconcileConfig struct {
	Resources []fluxResource `json:"resources"`
	// Revision is the commit (or chart version) to wait for; default: what an earlier
	// git-push of this Promotion pushed.
	Revision string `json:"revision,omitempty"`
}

func (c *fluxReconcileConfig) Validate() error {
	if len(c.Resources) == 0 {
		return errors.New("resources: at least one Flux resource is required")
	}
	for i, r := range c.Resources {
		if _, ok := fluxKinds[r.Kind]; !ok {
			return fmt.Errorf("resources[%d].kind %q: want GitRepository, Kustomization or HelmRelease", i, r.Kind)
		}
		if r.Name == "" {
			return fmt.Errorf("resources[%d].name is required", i)
		}
	}
	return nil
}

// fluxReconcile asks Flux to reconcile the resources now and waits until each is
// Ready=True at the revision this Promotion pushed. It leaves a health check.
func fluxReconcile(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg fluxReconcileConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dyn, err := reconcilerClient(sc, "flux-reconcile")
	if err != nil {
		return promotion.StepResult{}, err
	}
	rev := cfg.Revision
	if rev == "" {
		if rev, err = pushedRevision(sc, ""); err != nil {
			return promotion.StepResult{}, err
		}
	}
	// The token is stable across calls of this step, so a replay does not re-trigger.
	token := sc.StartedAt.UTC().Format(time.RFC3339Nano)
	var waiting []string
	var checks []any
	for i, r := range cfg.Resources {
		gvr := fluxKinds[r.Kind]
		key := fmt.Sprintf("%s %s/%s", r.Kind, r.namespace(), r.Name)
		obj, err := dyn.Resource(gvr).Namespace(r.namespace()).Get(ctx, r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("resources[%d]: %s not found", i, key))
		}
		if err != nil {
			return promotion.StepResult{}, fmt.Errorf("resources[%d]: reading %s: %w", i, key, err)
		}
		if obj.GetAnnotations()[fluxRequestedAtAnnotation] != token && stringOf(obj.Object, "status", "lastHandledReconcileAt") != token {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, fluxRequestedAtAnnotation, token)
			if _, err := dyn.Resource(gvr).Namespace(r.namespace()).Patch(ctx, r.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return promotion.StepResult{}, fmt.Errorf("resources[%d]: requesting reconciliation of %s: %w", i, key, err)
			}
			waiting = append(waiting, "requested reconciliation of "+key)
			checks = append(checks, fluxCheck(r, rev))
			continue
		}
		if handled := stringOf(obj.Object, "status", "lastHandledReconcileAt"); handled != token {
			msg := "waiting for Flux to reconcile " + key
			if suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspended {
				msg += ", which is suspended in Flux (spec.suspend)"
			}
			waiting = append(waiting, msg)
			checks = append(checks, fluxCheck(r, rev))
			continue
		}
		st, issue := fluxObjectHealth(obj, r.Kind, rev, true)
		switch st {
		case haulv1.HealthHealthy:
		case haulv1.HealthUnhealthy:
			return promotion.StepResult{Status: promotion.StatusFailed, Message: issue}, nil
		default:
			waiting = append(waiting, issue)
		}
		checks = append(checks, fluxCheck(r, rev))
	}
	if len(waiting) > 0 {
		return promotion.StepResult{Status: promotion.StatusRunning, Message: strings.Join(waiting, "; "), RequeueAfter: 2 * time.Second}, nil
	}
	return promotion.StepResult{
		Message:     fmt.Sprintf("%d Flux resource(s) Ready at %s", len(checks), orUnknown(rev)),
		HealthCheck: &promotion.HealthCheck{Uses: "flux-reconcile", Config: map[string]any{"resources": checks}},
	}, nil
}

func fluxCheck(r fluxResource, rev string) map[string]any {
	return map[string]any{"kind": r.Kind, "name": r.Name, "namespace": r.namespace(), "revision": rev}
}

// helmRevisionMatches compares a HelmRelease's reported revision, a chart version, with
// the wanted one. A chart built from a Git source with reconcileStrategy Revision
// carries the commit as build metadata ("0.1.0+1234567890ab"); a chart version without
// it cannot be tied to a commit, so a wanted commit SHA then counts as matched and the
// handled reconcile request plus Ready is all that is checked. An explicit chart
// version must equal the reported one, build metadata aside.
func helmRevisionMatches(reported, want string) bool {
	if revisionMatches(reported, want) {
		return true
	}
	version, build, hasBuild := strings.Cut(reported, "+")
	if gitx.IsObjectID(want) {
		return !hasBuild || (len(build) >= 7 && strings.HasPrefix(want, build))
	}
	return version != "" && version == want
}

// fluxWaitReasons are Ready=False reasons that mean a Flux object waits for another (its
// source has no artifact yet, a dependency is not Ready), not that it failed; Flux
// retries after --requeue-dependency.
var fluxWaitReasons = map[string]bool{"ArtifactFailed": true, "DependencyNotReady": true}

// fluxObjectHealth reads Flux's status contract: Ready=True at the wanted revision is
// Healthy; a current Ready=False that Flux has given up on for now (no Reconciling
// condition, or Reconciling with reason ProgressingWithRetry, which Flux leaves on a
// failed attempt it will retry) is Unhealthy; a suspended object and everything else
// is Progressing.
//
// attemptedOnly says a failure counts only when Flux attempted the wanted revision: the
// step sets it, because the reconciliation it requested may have run on the source's
// previous artifact, before the source fetched the pushed commit. A Stage's health check
// does not: a Kustomization failing to apply a later commit from the same branch is
// an unhealthy Stage.
func fluxObjectHealth(obj *unstructured.Unstructured, kind, rev string, attemptedOnly bool) (haulv1.HealthState, string) {
	key := fmt.Sprintf("%s %s/%s", kind, obj.GetNamespace(), obj.GetName())
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	cond := func(t string) (status, reason, msg string, generation int64) {
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == t {
				status, _ = m["status"].(string)
				reason, _ = m["reason"].(string)
				msg, _ = m["message"].(string)
				generation, _, _ = unstructured.NestedInt64(m, "observedGeneration")
			}
		}
		return status, reason, msg, generation
	}
	if suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspended {
		return haulv1.HealthProgressing, fmt.Sprintf("%s is suspended in Flux (spec.suspend): it is not reconciled until resumed", key)
	}
	// Flux moves status.observedGeneration only on success; the conditions it sets
	// carry the generation they judged, so a failure of this generation is current too.
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	ready, reason, msg, readyGeneration := cond("Ready")
	if observed < obj.GetGeneration() && (ready != "False" || readyGeneration < obj.GetGeneration()) {
		return haulv1.HealthProgressing, fmt.Sprintf("%s: Flux has not yet observed generation %d", key, obj.GetGeneration())
	}
	applied, attempted := fluxRevisions(obj, kind)
	reconciling, reconcilingReason, _, _ := cond("Reconciling")
	stalled, _, _, _ := cond("Stalled")
	retrying := reconciling == "True" && reconcilingReason == "ProgressingWithRetry"
	matches := revisionMatches
	if kind == "HelmRelease" {
		matches = helmRevisionMatches
	}
	failedAtRev := rev == "" || attempted == "" || matches(attempted, rev) || !attemptedOnly
	if attemptedOnly && fluxWaitReasons[reason] {
		failedAtRev = false // Flux retries once the source has an artifact
	}
	switch {
	case ready == "True" && (rev == "" || matches(applied, rev)):
		return haulv1.HealthHealthy, ""
	case ready == "True":
		return haulv1.HealthProgressing, fmt.Sprintf("%s is Ready at %s, waiting for %s", key, orUnknown(applied), rev)
	case ready == "False" && (reconciling != "True" || retrying || stalled == "True") && failedAtRev:
		return haulv1.HealthUnhealthy, fmt.Sprintf("%s is not Ready (%s): %s", key, reason, msg)
	default:
		return haulv1.HealthProgressing, fmt.Sprintf("%s is reconciling: %s", key, orUnknown(msg))
	}
}

// fluxRevisions reads the applied and attempted revisions per Flux kind.
func fluxRevisions(obj *unstructured.Unstructured, kind string) (applied, attempted string) {
	switch kind {
	case "GitRepository":
		applied = stringOf(obj.Object, "status", "artifact", "revision")
		return applied, applied
	case "HelmRelease":
		return stringOf(obj.Object, "status", "lastAttemptedRevision"), stringOf(obj.Object, "status", "lastAttemptedRevision")
	default:
		return stringOf(obj.Object, "status", "lastAppliedRevision"), stringOf(obj.Object, "status", "lastAttemptedRevision")
	}
}

// FluxHealth assesses the health check flux-reconcile leaves behind: config
// resources[] {kind, name, namespace, revision}.
func FluxHealth(ctx context.Context, dyn dynamic.Interface, config map[string]any) Health {
	out := Health{Status: haulv1.HealthHealthy}
	list, _ := config["resources"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		rev, _ := m["revision"].(string)
		gvr, ok := fluxKinds[kind]
		if !ok {
			out.Status = worse(out.Status, haulv1.HealthUnknown)
			out.Issues = append(out.Issues, fmt.Sprintf("unknown Flux kind %q", kind))
			continue
		}
		out.Objects = append(out.Objects, ObjectRef{GroupKind: gvr.GroupVersion().WithKind(kind).GroupKind(), Namespace: ns, Name: name})
		obj, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			st := haulv1.HealthUnknown
			if apierrors.IsNotFound(err) {
				st = haulv1.HealthUnhealthy
			}
			out.Status = worse(out.Status, st)
			out.Issues = append(out.Issues, fmt.Sprintf("reading %s %s/%s: %v", kind, ns, name, err))
			continue
		}
		st, issue := fluxObjectHealth(obj, kind, rev, false)
		out.Status = worse(out.Status, st)
		if issue != "" {
			out.Issues = append(out.Issues, issue)
		}
	}
	return out
}
