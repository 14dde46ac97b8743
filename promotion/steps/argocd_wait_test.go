package steps

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestArgoCDWaitForConditions(t *testing.T) {
	app := func(health, sync string, op map[string]any, reconciledAt string) *unstructured.Unstructured {
		status := map[string]any{"health": map[string]any{"status": health}, "sync": map[string]any{"status": sync}}
		if op != nil {
			status["operationState"] = op
		}
		if reconciledAt != "" {
			status["reconciledAt"] = reconciledAt
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "web", "namespace": "argocd"}, "status": status,
		}}
	}
	done := map[string]any{"phase": "Succeeded", "finishedAt": "2026-01-01T10:00:00Z"}
	for name, tc := range map[string]struct {
		app                *unstructured.Unstructured
		waitFor            []string
		wantOK, wantFailed bool
		wantIssue          string
	}{
		"suspended is accepted when asked for":   {app("Suspended", "Synced", done, "2026-01-01T10:00:05Z"), []string{"suspended"}, true, false, ""},
		"health or degraded takes Degraded":      {app("Degraded", "Synced", done, "2026-01-01T10:00:05Z"), []string{"health", "degraded"}, true, false, ""},
		"health alone waits on Degraded":         {app("Degraded", "Synced", done, "2026-01-01T10:00:05Z"), []string{"health"}, false, false, "Application argocd/web is Degraded"},
		"sync alone ignores health":              {app("Progressing", "Synced", nil, ""), []string{"sync"}, true, false, ""},
		"sync waits on OutOfSync":                {app("Healthy", "OutOfSync", nil, ""), []string{"sync"}, false, false, "Application argocd/web is OutOfSync"},
		"health before the sync is not trusted":  {app("Healthy", "Synced", done, "2026-01-01T09:59:00Z"), []string{"health"}, false, false, "waiting for Argo CD to assess health"},
		"operation waits on an unfinished sync":  {app("Healthy", "Synced", map[string]any{"phase": "Running"}, ""), []string{"operation"}, false, false, "an operation is running"},
		"health alone ignores a running sync":    {app("Healthy", "Synced", map[string]any{"phase": "Running"}, ""), []string{"health"}, true, false, ""},
		"a failed sync fails when sync awaited":  {app("Healthy", "OutOfSync", map[string]any{"phase": "Failed", "message": "hook failed", "finishedAt": "2026-01-01T10:00:00Z"}, ""), []string{"sync"}, false, true, "last sync Failed: hook failed"},
		"a failed sync is ignored for suspended": {app("Suspended", "OutOfSync", map[string]any{"phase": "Failed", "finishedAt": "2026-01-01T10:00:00Z"}, "2026-01-01T10:00:01Z"), []string{"suspended"}, true, false, ""},
	} {
		t.Run(name, func(t *testing.T) {
			ok, issue, failed := waitForMet(tc.app, tc.waitFor)
			if ok != tc.wantOK || failed != tc.wantFailed || (tc.wantIssue != "" && !strings.Contains(issue, tc.wantIssue)) {
				t.Errorf("waitForMet = %v, %q, failed %v; want %v, %q, failed %v", ok, issue, failed, tc.wantOK, tc.wantIssue, tc.wantFailed)
			}
		})
	}
	t.Run("bad waitFor values are refused", func(t *testing.T) {
		r := newStepRun(t, nil)
		_, err := r.run(t, argoCDWait, map[string]any{"apps": []any{map[string]any{"name": "web", "waitFor": []any{"healthy"}}}})
		wantErr(t, err, `apps[0].waitFor[0] "healthy" must be one of health, sync, operation, suspended and degraded`)
		_, err = r.run(t, argoCDWait, map[string]any{"apps": []any{map[string]any{"name": "web", "waitFor": []any{"sync", "sync"}}}})
		wantErr(t, err, `apps[0].waitFor lists "sync" twice`)
	})
}
