package flux

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

// TestReconcilerClusterIsSeparate_HelmControllerTestDouble: with a reconciler cluster
// (`haul controller --reconciler-kubeconfig`), a Promotion's flux-reconcile step and the
// Stage's health check reach the HelmRelease in that cluster, while the Stage, Freight
// and Promotion live on the control plane, which has no such HelmRelease.
func TestReconcilerClusterIsSeparate_HelmControllerTestDouble(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	apps, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = apps.Stop() })
	if err := testservers.InstallFluxCRDs(ctx, apps.Client, "testdata/crds"); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t, "reconciler-cluster")
	if err := apps.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	appsDyn := dynamic.NewForConfigOrDie(apps.Config)
	double := newHelmControllerTestDouble(appsDyn, ns)
	double.set("1.4.2", false)
	go double.run(ctx)
	createHelmRelease(t, appsDyn, ns, "web")

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := promotion.SetupWithManager(mgr, promotion.Options{WorkDir: t.TempDir(), ReconcilerConfig: apps.Config}); err != nil {
		t.Fatal(err)
	}
	if err := stage.SetupWithManager(mgr, stage.Options{WorkDir: t.TempDir(), ReconcilerConfig: apps.Config, HealthInterval: time.Second}); err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = mgr.Start(mctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	raw, _ := json.Marshal(map[string]any{"resources": []any{map[string]any{"kind": "HelmRelease", "name": "web", "namespace": ns}}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	origin := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}
	must(env.Client.Create(ctx, &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod"},
		Spec: haulv1.StageSpec{
			RequestedFreight:  []haulv1.FreightRequest{{Origin: origin, Sources: haulv1.FreightSources{Direct: true}}},
			PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{{Uses: "flux-reconcile", As: "reconcile", Config: &apiextensionsv1.JSON{Raw: raw}}}}},
		},
	}))
	freight := strings.Repeat("cd", 20)
	must(env.Client.Create(ctx, &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: freight}, Alias: "one", Origin: origin,
		Images: []haulv1.Image{{RepoURL: "example.com/web", Tag: "1.4.2"}}}))
	p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod.one"}, Spec: haulv1.PromotionSpec{Stage: "prod", Freight: freight}}
	must(env.Client.Create(ctx, p))

	deadline := time.Now().Add(60 * time.Second)
	for {
		must(env.Client.Get(ctx, client.ObjectKeyFromObject(p), p))
		if p.Status.Phase.IsTerminal() || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("Promotion: %s: %s; want Succeeded through the reconciler cluster's HelmRelease", p.Status.Phase, p.Status.Message)
	}
	st := &haulv1.Stage{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		must(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "prod"}, st))
		if st.Status.Health != nil && st.Status.Health.Status == haulv1.HealthHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Stage health %+v, want Healthy from the reconciler cluster's HelmRelease", st.Status.Health)
		}
	}
	// The control plane serves the HelmRelease CRD too (TestMain) but has no web: a step
	// or health check that looked there would have found nothing.
	if _, err := dynamic.NewForConfigOrDie(env.Config).Resource(helmReleaseGVR).Namespace(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Fatal("a HelmRelease exists on the control plane; the test would not tell the clusters apart")
	}
}
