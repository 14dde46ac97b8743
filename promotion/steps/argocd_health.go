package steps

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// ArgoCDHealth assesses the health check argocd-update and argocd-wait leave behind:
// config apps[] {name, namespace, revisions[]}. An Application is Healthy when its last
// operation succeeded, it is Synced at the recorded revisions, and Argo CD reported it
// Healthy after that sync finished (older health is ignored: it describes the previous
// revision; until Argo CD reassesses, the check asks it for a hard refresh).
func ArgoCDHealth(ctx context.Context, dyn dynamic.Interface, config map[string]any) Health {
	out := Health{Status: haulv1.HealthHealthy}
	apps, _ := config["apps"].([]any)
	for _, a := range apps {
		m, _ := a.(map[string]any)
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		if ns == "" {
			ns = "argocd"
		}
		var revs []string
		if list, ok := m["revisions"].([]any); ok {
			for _, r := range list {
				s, _ := r.(string)
				revs = append(revs, s)
			}
		}
		out.Objects = append(out.Objects, ObjectRef{GroupKind: applicationKind, Namespace: ns, Name: name})
		st, issue := applicationHealth(ctx, dyn, ns, name, revs)
		out.Status = worse(out.Status, st)
		if issue != "" {
			out.Issues = append(out.Issues, issue)
		}
	}
	return out
}

func applicationHealth(ctx context.Context, dyn dynamic.Interface, ns, name string, revs []string) (haulv1.HealthState, string) {
	key := ns + "/" + name
	app, err := dyn.Resource(applicationGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return haulv1.HealthUnhealthy, fmt.Sprintf("Application %s not found", key)
	}
	if err != nil {
		return haulv1.HealthUnknown, fmt.Sprintf("reading Application %s: %v", key, err)
	}
	op := mapOf(app.Object, "status", "operationState")
	phase, _ := op["phase"].(string)
	switch phase {
	case "Running", "Terminating":
		return haulv1.HealthProgressing, fmt.Sprintf("Application %s: an operation is running", key)
	case "Failed", "Error":
		msg, _ := op["message"].(string)
		return haulv1.HealthUnhealthy, fmt.Sprintf("Application %s: last sync %s: %s", key, phase, msg)
	}
	// Argo CD assesses sync and health in a loop apart from the operation: until it has
	// reconciled the Application after the last operation finished, both may describe
	// the previous revision (right after the first push to a new branch, a comparison
	// that could not resolve it yet: Unknown). As Kargo does, ask for a hard refresh,
	// so Argo CD reassesses now instead of at its next periodic refresh (three minutes
	// by default), and judge nothing until then.
	if finished := timeOf(op, "finishedAt"); !finished.IsZero() {
		if reconciled := timeOf(mapOf(app.Object, "status"), "reconciledAt"); reconciled.Before(finished) {
			msg := fmt.Sprintf("Application %s: waiting for Argo CD to assess health after the sync", key)
			if err := requestHardRefresh(ctx, dyn, app); err != nil {
				msg += fmt.Sprintf(" (requesting a refresh: %v)", err)
			}
			return haulv1.HealthProgressing, msg
		}
	}
	_, multi := appSources(app)
	if sync := stringOf(app.Object, "status", "sync", "status"); sync != "Synced" {
		return haulv1.HealthUnhealthy, fmt.Sprintf("Application %s is %s", key, orUnknown(sync))
	}
	var got []string
	if multi {
		list, _, _ := unstructured.NestedStringSlice(app.Object, "status", "sync", "revisions")
		got = list
	} else {
		got = []string{stringOf(app.Object, "status", "sync", "revision")}
	}
	for i, want := range revs {
		if want == "" || !shaRE.MatchString(want) {
			continue
		}
		if i >= len(got) || got[i] != want {
			return haulv1.HealthUnhealthy, fmt.Sprintf("Application %s is synced at %v, not at %s", key, got, want)
		}
	}
	switch h := stringOf(app.Object, "status", "health", "status"); h {
	case "Healthy":
		return haulv1.HealthHealthy, ""
	case "Progressing", "Suspended":
		return haulv1.HealthProgressing, fmt.Sprintf("Application %s is %s", key, h)
	case "Degraded", "Missing":
		msg := stringOf(app.Object, "status", "health", "message")
		return haulv1.HealthUnhealthy, fmt.Sprintf("Application %s is %s %s", key, h, msg)
	default:
		return haulv1.HealthUnknown, fmt.Sprintf("Application %s health is %s", key, orUnknown(h))
	}
}

// annotationArgoCDRefresh asks Argo CD's application controller to refresh an
// Application; it removes the annotation once done.
const annotationArgoCDRefresh = "argocd.argoproj.io/refresh"

// requestHardRefresh annotates the Application for a hard refresh (Argo CD drops its
// cached manifests and revisions), unless a refresh is already requested.
func requestHardRefresh(ctx context.Context, dyn dynamic.Interface, app *unstructured.Unstructured) error {
	if _, pending := app.GetAnnotations()[annotationArgoCDRefresh]; pending {
		return nil
	}
	patch := []byte(`{"metadata":{"annotations":{"` + annotationArgoCDRefresh + `":"hard"}}}`)
	_, err := dyn.Resource(applicationGVR).Namespace(app.GetNamespace()).Patch(ctx, app.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func timeOf(m map[string]any, key string) time.Time {
	s, _ := m[key].(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
