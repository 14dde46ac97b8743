// Package poison_test is scenario 41 against a real API server: a Stage and a
// Warehouse whose reconcile panics are recorded on the object (Ready condition and an
// Event naming the panic), every other object keeps reconciling, and a restarted
// controller meets the same objects without crashing or retrying in a hot loop.
package poison_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/controllers/warehouse"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// poison makes the controllers' client panic while they handle the two poison
// objects, the way a parser meeting a malformed value would: listing the Promotions
// of Stage "poison" (the Stage controller's observe step) and creating Freight for
// Warehouse "poison" (the Warehouse controller's Freight step). It counts the panics.
type poison struct{ stage, warehouse atomic.Int64 }

func (p *poison) client(cfg *rest.Config, opts client.Options) (client.Client, error) {
	c, err := client.NewWithWatch(cfg, opts)
	if err != nil {
		return nil, err
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*haulv1.PromotionList); ok {
				for _, o := range opts {
					if f, ok := o.(client.MatchingFields); ok && f["stage.haul.dev/promotion-stage"] == "poison" {
						p.stage.Add(1)
						panic("malformed value in Stage poison")
					}
				}
			}
			return c.List(ctx, list, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			if f, ok := o.(*haulv1.Freight); ok && f.Origin.Name == "poison" {
				p.warehouse.Add(1)
				panic("malformed value in Warehouse poison")
			}
			return c.Create(ctx, o, opts...)
		},
	}), nil
}

// start runs the Stage and Warehouse controllers for ns until the returned stop.
func (p *poison) start(t *testing.T, ns string) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		NewClient:              p.client,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := stage.SetupWithManager(mgr, stage.Options{WorkDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := warehouse.SetupWithManager(mgr, warehouse.Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// panicRecorded waits for obj's Ready condition to say ReconcilePanic with want in its
// message, and for a Warning Event of that reason on it.
func panicRecorded(t *testing.T, obj client.Object, conditions func() []metav1.Condition, want string) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	eventually(t, fmt.Sprintf("%T %s to record the panic", obj, key.Name), func() (bool, string) {
		if err := env.Client.Get(context.Background(), key, obj); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(conditions(), haulv1.ConditionReady)
		if c == nil {
			return false, "no Ready condition"
		}
		return c.Status == metav1.ConditionFalse && c.Reason == haulv1.ReasonReconcilePanic && strings.Contains(c.Message, want),
			fmt.Sprintf("Ready %s %s %q", c.Status, c.Reason, c.Message)
	})
	eventually(t, fmt.Sprintf("a ReconcilePanic Event on %s", key.Name), func() (bool, string) {
		var events corev1.EventList
		if err := env.Client.List(context.Background(), &events, client.InNamespace(key.Namespace)); err != nil {
			return false, err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == key.Name && e.Reason == haulv1.ReasonReconcilePanic && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, want) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none for %s", len(events.Items), key.Name)
	})
}

func freightOf(t *testing.T, ns, warehouse string) []haulv1.Freight {
	t.Helper()
	var list haulv1.FreightList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []haulv1.Freight
	for _, f := range list.Items {
		if f.Origin.Name == warehouse {
			out = append(out, f)
		}
	}
	return out
}

func TestPoisonStageAndWarehouseAreRecordedWithoutACrashLoop(t *testing.T) {
	ns := env.Namespace(t, "poison")
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	if _, err := g.SeedRepo("app", map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	p := &poison{}
	stop := p.start(t, ns)
	ctx := context.Background()
	for _, name := range []string{"poison", "good"} {
		wh := &haulv1.Warehouse{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: time.Hour},
				Subscriptions: []haulv1.RepoSubscription{{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("app")}}}},
		}
		if err := env.Client.Create(ctx, wh); err != nil {
			t.Fatal(err)
		}
		st := &haulv1.Stage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
				Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "good"}, Sources: haulv1.FreightSources{Direct: true},
			}}},
		}
		if err := env.Client.Create(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	badWH, badStage := &haulv1.Warehouse{}, &haulv1.Stage{}
	badWH.Namespace, badWH.Name = ns, "poison"
	badStage.Namespace, badStage.Name = ns, "poison"
	panicRecorded(t, badWH, func() []metav1.Condition { return badWH.Status.Conditions }, "recovered from a panic: malformed value in Warehouse poison")
	panicRecorded(t, badStage, func() []metav1.Condition { return badStage.Status.Conditions }, "recovered from a panic: malformed value in Stage poison")
	if n := len(freightOf(t, ns, "poison")); n != 0 {
		t.Errorf("the poison Warehouse has %d Freight", n)
	}

	// The others reconcile: the good Warehouse makes Freight and the good Stage is
	// observed (its Ready condition is not a panic).
	eventually(t, "Freight of the good Warehouse", func() (bool, string) { return len(freightOf(t, ns, "good")) == 1, "" })
	goodReconciled := func(what string) {
		eventually(t, "the good Stage reconciled "+what, func() (bool, string) {
			s := &haulv1.Stage{}
			_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good"}, s)
			c := meta.FindStatusCondition(s.Status.Conditions, haulv1.ConditionReady)
			if c == nil {
				return false, "no Ready condition"
			}
			return c.Reason != haulv1.ReasonReconcilePanic && s.Status.ObservedGeneration == s.Generation, c.Reason
		})
	}
	goodReconciled("")

	// No hot loop: a recovered panic waits for the interval (or a change the object
	// watches), not for the rate limiter's milliseconds.
	quiet := func(when string) {
		s0, w0 := p.stage.Load(), p.warehouse.Load()
		time.Sleep(5 * time.Second)
		if ds, dw := p.stage.Load()-s0, p.warehouse.Load()-w0; ds > 2 || dw > 0 {
			t.Errorf("%s: %d Stage and %d Warehouse panics in 5s, want a retry after the interval, not a hot loop", when, ds, dw)
		}
	}
	quiet("first run")

	// A restarted controller meets the same objects: it records them again and keeps
	// serving the rest (a new commit reaches the good Warehouse after a refresh).
	stop()
	before := p.warehouse.Load()
	p.start(t, ns)
	if _, err := g.Commit("app", "main", map[string]string{"v": "2"}, "two"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"good", "poison"} {
		wh := &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		patch := []byte(`{"metadata":{"annotations":{"` + haulv1.AnnotationRefresh + `":"after-restart"}}}`)
		if err := env.Client.Patch(ctx, wh, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Freight for the new commit after the restart", func() (bool, string) { return len(freightOf(t, ns, "good")) == 2, "" })
	eventually(t, "the poison Warehouse to be reconciled again after the restart", func() (bool, string) {
		return p.warehouse.Load() > before, ""
	})
	panicRecorded(t, badWH, func() []metav1.Condition { return badWH.Status.Conditions }, "recovered from a panic: malformed value in Warehouse poison")
	goodReconciled("after the restart")
	quiet("after the restart")
}
