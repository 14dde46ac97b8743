//go:build argocd

package argocd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// A Stage may only change Applications that name it in haul.dev/authorized-stage; the
// Promotion fails saying which annotation is missing, and the Application is untouched.
func TestUnauthorizedStageCannotChangeApplication(t *testing.T) {
	ctx := context.Background()
	const ns = "rogue"
	must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	pc.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(t, k8s.Create(ctx, pc))
	a := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "locked", "namespace": "argocd",
			"annotations": map[string]any{haulv1.AnnotationAuthorizedStage: "shop:prod"}},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": "http://127.0.0.1:1/none.git", "targetRevision": "main", "path": "."},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "default"},
		},
	}}
	must(t, k8s.Create(ctx, a))
	s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "intruder"}}
	s.Spec.RequestedFreight = []haulv1.FreightRequest{{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}, Sources: haulv1.FreightSources{Direct: true}}}
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
		{Uses: "argocd-update", Config: raw(map[string]any{"apps": []any{map[string]any{"name": "locked", "namespace": "argocd"}}})}}}}
	must(t, k8s.Create(ctx, s))
	startHaul(t)
	f := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.Repeat("e", 40)},
		Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
		Images: []haulv1.Image{{RepoURL: image, Tag: "6.6.6"}}}
	must(t, k8s.Create(ctx, f))

	var msg string
	eventually(t, time.Minute, "the intruding promotion to end", func() (bool, string) {
		var list haulv1.PromotionList
		must(t, k8s.List(ctx, &list, client.InNamespace(ns)))
		for _, p := range list.Items {
			msg = p.Status.Message
			return p.Status.Phase.IsTerminal(), fmt.Sprintf("%s: %s", p.Status.Phase, msg)
		}
		return false, "no promotion"
	})
	if !strings.Contains(msg, `haul.dev/authorized-stage: "rogue:intruder"`) {
		t.Errorf("promotion message %q does not name the missing annotation", msg)
	}
	got := app(t, "locked")
	if op, ok := got.Object["operation"]; ok {
		t.Errorf("an unauthorized stage started an operation on the Application: %v", op)
	}
}
