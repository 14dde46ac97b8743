package steps

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Right after a sync, before Argo CD has reconciled the Application again, its sync
// and health status describe the previous revision. The Stage's health check must not
// judge it then, and, as Kargo's does, asks Argo CD for a hard refresh so the
// reassessment comes now rather than at Argo CD's next periodic refresh (three minutes
// by default). Seen with akuity/kargo-advanced: after the first push to env/<stage>,
// the Application stayed Unknown (its branch not yet resolved) for up to 36s.
func TestArgoCDHealthAsksArgoCDToRefreshAfterTheSync(t *testing.T) {
	const pushed = "0123456789abcdef0123456789abcdef01234567"
	app := func(sync, rev, reconciledAt string, annotations map[string]any) *unstructured.Unstructured {
		meta := map[string]any{"name": "guestbook-staging", "namespace": "argocd"}
		if annotations != nil {
			meta["annotations"] = annotations
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta,
			"status": map[string]any{
				"sync":           map[string]any{"status": sync, "revision": rev},
				"health":         map[string]any{"status": "Healthy"},
				"operationState": map[string]any{"phase": "Succeeded", "finishedAt": "2026-01-01T10:00:00Z"},
				"reconciledAt":   reconciledAt,
			},
		}}
	}
	for name, tc := range map[string]struct {
		app         *unstructured.Unstructured
		wantStatus  haulv1.HealthState
		wantIssue   string
		wantRefresh string
	}{
		"not reconciled since the sync, branch not resolved yet: refresh, judge later": {
			app("Unknown", "env/staging", "2026-01-01T09:59:50Z", nil), haulv1.HealthProgressing, "waiting for Argo CD to assess health after the sync", "hard"},
		"not reconciled since the sync, looking healthy: still not trusted": {
			app("Synced", pushed, "2026-01-01T09:59:50Z", nil), haulv1.HealthProgressing, "waiting for Argo CD to assess health after the sync", "hard"},
		"a refresh already requested is left as it is": {
			app("Synced", pushed, "2026-01-01T09:59:50Z", map[string]any{annotationArgoCDRefresh: "normal"}), haulv1.HealthProgressing, "waiting for Argo CD", "normal"},
		"reconciled after the sync: judged, no refresh": {
			app("Synced", pushed, "2026-01-01T10:00:01Z", nil), haulv1.HealthHealthy, "", ""},
		"reconciled after the sync and still Unknown: unhealthy, no refresh": {
			app("Unknown", "env/staging", "2026-01-01T10:00:01Z", nil), haulv1.HealthUnhealthy, "Application argocd/guestbook-staging is Unknown", ""},
	} {
		t.Run(name, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{applicationGVR: "ApplicationList"}, tc.app)
			h := ArgoCDHealth(context.Background(), dyn, map[string]any{"apps": []any{map[string]any{
				"name": "guestbook-staging", "revisions": []any{pushed}}}})
			if h.Status != tc.wantStatus || (tc.wantIssue == "") != (len(h.Issues) == 0) ||
				(tc.wantIssue != "" && !strings.Contains(strings.Join(h.Issues, "; "), tc.wantIssue)) {
				t.Fatalf("health = %s %v, want %s with %q", h.Status, h.Issues, tc.wantStatus, tc.wantIssue)
			}
			got, err := dyn.Resource(applicationGVR).Namespace("argocd").Get(context.Background(), "guestbook-staging", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r := got.GetAnnotations()[annotationArgoCDRefresh]; r != tc.wantRefresh {
				t.Errorf("%s = %q, want %q", annotationArgoCDRefresh, r, tc.wantRefresh)
			}
		})
	}
}
