package warehouse

import (
	"context"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// startController runs a manager with the Warehouse controller watching only ns.
func startController(t testing.TB, ns string, opts Options) *Reconciler {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := NewReconciler(mgr, opts)
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)
	return r
}

// startManager runs mgr until the test ends.
func startManager(t testing.TB, mgr ctrl.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func ptr[T any](v T) *T { return &v }

// eventually polls cond until it returns true or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getWarehouse(t testing.TB, ns, name string) *haulv1.Warehouse {
	t.Helper()
	wh := &haulv1.Warehouse{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wh); err != nil {
		t.Fatal(err)
	}
	return wh
}

func listFreight(t testing.TB, ns string) []haulv1.Freight {
	t.Helper()
	var l haulv1.FreightList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func createWarehouse(t testing.TB, ns, name string, interval time.Duration, subs ...haulv1.RepoSubscription) *haulv1.Warehouse {
	t.Helper()
	wh := &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: interval}, Subscriptions: subs},
	}
	if err := env.Client.Create(context.Background(), wh); err != nil {
		t.Fatal(err)
	}
	return wh
}

// refresh sets a new haul.dev/refresh value, as the CLI and webhooks do.
func refresh(t testing.TB, ns, name string) string {
	t.Helper()
	v := time.Now().UTC().Format(time.RFC3339Nano)
	wh := &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	patch := []byte(`{"metadata":{"annotations":{"` + haulv1.AnnotationRefresh + `":"` + v + `"}}}`)
	if err := env.Client.Patch(context.Background(), wh, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	return v
}

func condition(wh *haulv1.Warehouse, typ string) *metav1.Condition {
	for i := range wh.Status.Conditions {
		if wh.Status.Conditions[i].Type == typ {
			return &wh.Status.Conditions[i]
		}
	}
	return nil
}
