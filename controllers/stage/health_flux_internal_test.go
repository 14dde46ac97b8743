package stage

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestParseInventoryIDReadsKustomizeControllerIDs(t *testing.T) {
	for id, want := range map[string]inventoryEntry{
		"app_web__ConfigMap":      {Namespace: "app", Name: "web", GroupVersionKind: schema.GroupVersionKind{Kind: "ConfigMap"}},
		"app_web_apps_Deployment": {Namespace: "app", Name: "web", GroupVersionKind: schema.GroupVersionKind{Group: "apps", Kind: "Deployment"}},
		"_app__Namespace":         {Name: "app", GroupVersionKind: schema.GroupVersionKind{Kind: "Namespace"}},
		"_system__viewer_rbac.authorization.k8s.io_ClusterRole": {Name: "system:viewer", GroupVersionKind: schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}},
	} {
		got, err := parseInventoryID(id)
		if err != nil || got != want {
			t.Errorf("parseInventoryID(%q) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	for _, bad := range []string{"", "app_web", "app__apps_Deployment", "app_web_apps_"} {
		if got, err := parseInventoryID(bad); err == nil {
			t.Errorf("parseInventoryID(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestFluxInventoryNamesTheBadEntry(t *testing.T) {
	ks := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"inventory": map[string]any{"entries": []any{
		map[string]any{"id": "app_web__ConfigMap", "v": "v1"},
		map[string]any{"id": "nonsense", "v": "v1"},
	}}}}}
	if _, err := fluxInventory(ks); err == nil || !strings.Contains(err.Error(), `entries[1].id "nonsense"`) {
		t.Errorf("error = %v, want it to name entries[1]", err)
	}
	ks.Object["status"] = map[string]any{"inventory": map[string]any{"entries": []any{map[string]any{"id": "app_web_apps_Deployment", "v": "v1"}}}}
	got, err := fluxInventory(ks)
	if err != nil || len(got) != 1 || got[0].Version != "v1" || got[0].String() != "Deployment app/web" {
		t.Errorf("fluxInventory = %+v, %v", got, err)
	}
}

func TestAppliedObjectHealthFollowsTheObjectsStatus(t *testing.T) {
	obj := func(generation int64, status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "web", "generation": generation}}}
		if status != nil {
			u.Object["status"] = status
		}
		return u
	}
	conds := func(c ...map[string]any) []any {
		out := make([]any, len(c))
		for i := range c {
			out[i] = c[i]
		}
		return out
	}
	cond := func(typ, status, reason string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": reason + " happened"}
	}
	withGeneration := func(c map[string]any, g int64) map[string]any {
		c["observedGeneration"] = g
		return c
	}
	for name, tc := range map[string]struct {
		obj   *unstructured.Unstructured
		want  haulv1.HealthState
		issue string
	}{
		"no status at all":              {obj(0, nil), haulv1.HealthHealthy, ""},
		"observed and Ready":            {obj(2, map[string]any{"observedGeneration": int64(2), "conditions": conds(cond("Ready", "True", "Succeeded"))}), haulv1.HealthHealthy, ""},
		"generation not yet observed":   {obj(3, map[string]any{"observedGeneration": int64(2)}), haulv1.HealthProgressing, "not yet observed generation 3"},
		"Ready=False, done reconciling": {obj(1, map[string]any{"conditions": conds(cond("Ready", "False", "BuildFailed"))}), haulv1.HealthUnhealthy, "not Ready (BuildFailed): BuildFailed happened"},
		"Ready=False while reconciling": {obj(1, map[string]any{"conditions": conds(cond("Ready", "False", "Progressing"), cond("Reconciling", "True", "Progressing"))}), haulv1.HealthProgressing, "reconciling"},
		"Ready=False, retrying":         {obj(1, map[string]any{"conditions": conds(cond("Ready", "False", "GitOperationFailed"), cond("Reconciling", "True", "ProgressingWithRetry"))}), haulv1.HealthUnhealthy, "not Ready (GitOperationFailed): GitOperationFailed happened"},
		"failed at this generation, which Flux does not record as observed": {obj(1, map[string]any{"observedGeneration": int64(-1), "conditions": conds(
			withGeneration(cond("Ready", "False", "GitOperationFailed"), 1), cond("Reconciling", "True", "ProgressingWithRetry"))}), haulv1.HealthUnhealthy, "not Ready (GitOperationFailed)"},
		"failed at an older generation": {obj(2, map[string]any{"observedGeneration": int64(1), "conditions": conds(
			withGeneration(cond("Ready", "False", "GitOperationFailed"), 1), cond("Reconciling", "True", "ProgressingWithRetry"))}), haulv1.HealthProgressing, "not yet observed generation 2"},
		"Stalled":       {obj(1, map[string]any{"conditions": conds(cond("Stalled", "True", "InvalidSpec"))}), haulv1.HealthUnhealthy, "Stalled (InvalidSpec)"},
		"Ready=Unknown": {obj(1, map[string]any{"conditions": conds(cond("Ready", "Unknown", "Progressing"))}), haulv1.HealthProgressing, "reconciling"},
	} {
		t.Run(name, func(t *testing.T) {
			got, issue := appliedObjectHealth(tc.obj, "Thing app/web")
			if got != tc.want || !strings.Contains(issue, tc.issue) || (tc.issue == "") != (issue == "") {
				t.Errorf("appliedObjectHealth = %s %q, want %s mentioning %q", got, issue, tc.want, tc.issue)
			}
		})
	}
}
