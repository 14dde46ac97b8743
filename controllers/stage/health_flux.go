package stage

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion/steps"
)

// fluxInventoryLimit caps how many inventory objects one health assessment reads, so a
// Kustomization that applies thousands of objects cannot turn each Stage pass into
// thousands of API calls.
const fluxInventoryLimit = 100

var kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}

// inventoryEntry is one object a Kustomization applied, from status.inventory.entries.
type inventoryEntry struct {
	schema.GroupVersionKind
	Namespace, Name string
}

func (e inventoryEntry) String() string {
	if e.Namespace == "" {
		return e.Kind + " " + e.Name
	}
	return e.Kind + " " + e.Namespace + "/" + e.Name
}

// withFluxInventory adds to a flux-reconcile health check the health of the objects in
// each Kustomization's inventory. Kustomization Ready=True says Flux applied the
// manifests; it says nothing about an object deleted by hand since, or one whose own
// status reports it failing (Flux only waits for that with spec.wait or healthChecks).
func (r *Reconciler) withFluxInventory(ctx context.Context, config map[string]any, res steps.Health) steps.Health {
	list, _ := config["resources"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if kind, _ := m["kind"].(string); kind != "Kustomization" {
			continue
		}
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		ks, err := r.reconcilers().Resource(kustomizationGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			continue // steps.FluxHealth has already reported why the Kustomization is unreadable
		}
		key := fmt.Sprintf("Kustomization %s/%s", ns, name)
		entries, err := fluxInventory(ks)
		if err != nil {
			worsenHealth(&res, haulv1.HealthUnknown, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		if len(entries) > fluxInventoryLimit {
			res.Issues = append(res.Issues, fmt.Sprintf("%s: checked the first %d of %d inventory objects", key, fluxInventoryLimit, len(entries)))
			entries = entries[:fluxInventoryLimit]
		}
		for _, e := range entries {
			st, issue := r.inventoryObjectHealth(ctx, e)
			if issue != "" {
				issue = fmt.Sprintf("%s inventory: %s", key, issue)
			}
			worsenHealth(&res, st, issue)
		}
	}
	return res
}

// inventoryObjectHealth reads one applied object and judges it by the status contract
// Kubernetes controllers share (kstatus): present, observed at its generation, not
// Stalled, not Ready=False (unless still reconciling, and not merely retrying). A
// failure recorded for the current generation counts even where status.observedGeneration
// lags, as Flux leaves it on a failed reconciliation.
func (r *Reconciler) inventoryObjectHealth(ctx context.Context, e inventoryEntry) (haulv1.HealthState, string) {
	mapper := r.ReconcilerMapper
	if mapper == nil {
		mapper = r.RESTMapper()
	}
	mapping, err := mapper.RESTMapping(e.GroupKind(), e.Version)
	if err != nil {
		return haulv1.HealthUnknown, fmt.Sprintf("%s: %v", e, err)
	}
	ri := r.reconcilers().Resource(mapping.Resource)
	var obj *unstructured.Unstructured
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		obj, err = ri.Namespace(e.Namespace).Get(ctx, e.Name, metav1.GetOptions{})
	} else {
		obj, err = ri.Get(ctx, e.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return haulv1.HealthUnhealthy, fmt.Sprintf("%s was applied by Flux but no longer exists", e)
	}
	if err != nil {
		return haulv1.HealthUnknown, fmt.Sprintf("reading %s: %v", e, err)
	}
	return appliedObjectHealth(obj, e.String())
}

// appliedObjectHealth judges an object by its generic status fields. Objects without a
// status (ConfigMaps, Services, RBAC) are Healthy once they exist.
func appliedObjectHealth(obj *unstructured.Unstructured, key string) (haulv1.HealthState, string) {
	if obj.GetDeletionTimestamp() != nil {
		return haulv1.HealthProgressing, key + " is being deleted"
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	get := func(t string) (status, reason, msg string, generation int64) {
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
	// Flux moves status.observedGeneration only once a generation reconciled without
	// error; a failure is still current when its condition carries this generation.
	stalled, stalledReason, stalledMsg, stalledGen := get("Stalled")
	ready, readyReason, readyMsg, readyGen := get("Ready")
	failedNow := (stalled == "True" && stalledGen >= obj.GetGeneration()) || (ready == "False" && readyGen >= obj.GetGeneration())
	if observed, ok, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration"); ok && observed < obj.GetGeneration() && !failedNow {
		return haulv1.HealthProgressing, fmt.Sprintf("%s: its controller has not yet observed generation %d", key, obj.GetGeneration())
	}
	if stalled == "True" {
		return haulv1.HealthUnhealthy, fmt.Sprintf("%s is Stalled (%s): %s", key, stalledReason, stalledMsg)
	}
	// Flux (and controllers built on its runtime) keep Reconciling=True with reason
	// ProgressingWithRetry on an object whose last attempt failed and will be retried:
	// that is a failure now, as flux-reconcile reads it, not progress.
	reconciling, reconcilingReason, _, _ := get("Reconciling")
	retrying := reconciling == "True" && reconcilingReason == "ProgressingWithRetry"
	switch st := ready; {
	case st == "False" && (reconciling != "True" || retrying):
		return haulv1.HealthUnhealthy, fmt.Sprintf("%s is not Ready (%s): %s", key, readyReason, readyMsg)
	case st == "False" || st == "Unknown" || reconciling == "True":
		return haulv1.HealthProgressing, fmt.Sprintf("%s is reconciling", key)
	}
	return haulv1.HealthHealthy, ""
}

// fluxInventory reads a Kustomization's status.inventory.entries.
func fluxInventory(ks *unstructured.Unstructured) ([]inventoryEntry, error) {
	raw, _, _ := unstructured.NestedSlice(ks.Object, "status", "inventory", "entries")
	out := make([]inventoryEntry, 0, len(raw))
	for i, item := range raw {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		v, _ := m["v"].(string)
		e, err := parseInventoryID(id)
		if err != nil {
			return nil, fmt.Errorf("status.inventory.entries[%d].id %q: %w", i, id, err)
		}
		if v == "" {
			return nil, fmt.Errorf("status.inventory.entries[%d].v is empty", i)
		}
		e.Version = v
		out = append(out, e)
	}
	return out, nil
}

// parseInventoryID splits Flux's object ID, <namespace>_<name>_<group>_<kind> (the
// namespace and group empty where they do not apply, a ':' in the name written "__"),
// as kustomize-controller records it.
func parseInventoryID(id string) (inventoryEntry, error) {
	parts := strings.Split(id, "_")
	if len(parts) < 4 {
		return inventoryEntry{}, fmt.Errorf("want <namespace>_<name>_<group>_<kind>")
	}
	n := len(parts)
	e := inventoryEntry{Namespace: parts[0]}
	e.Group, e.Kind = parts[n-2], parts[n-1]
	e.Name = strings.ReplaceAll(strings.Join(parts[1:n-2], "_"), "__", ":")
	if e.Name == "" || e.Kind == "" {
		return inventoryEntry{}, fmt.Errorf("want <namespace>_<name>_<group>_<kind>, with a name and a kind")
	}
	return e, nil
}

// worsenHealth records an issue in a step's health result, keeping the worse state.
func worsenHealth(h *steps.Health, st haulv1.HealthState, issue string) {
	if healthRank[st] > healthRank[h.Status] {
		h.Status = st
	}
	if issue != "" {
		h.Issues = append(h.Issues, issue)
	}
}
