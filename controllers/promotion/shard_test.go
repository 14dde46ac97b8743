package promotion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/pkg/shard"
)

// startShard runs the Promotion controller of one shard: its cache holds only the
// Stages and Promotions of that shard, as `haul controller --shard` sets it up.
func startShard(t *testing.T, name, ns string) {
	t.Helper()
	sel := shard.Selector(name)
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     env.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}, ByObject: map[client.Object]cache.ByObject{
			&haulv1.Stage{}: {Label: sel}, &haulv1.Promotion{}: {Label: sel},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := promotion.SetupWithManager(mgr, promotion.Options{WorkDir: t.TempDir(), Shard: name, Sharded: true, MaxConcurrentReconciles: 2}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestManualPromotionMovesToItsStagesShard: a Promotion made with kubectl carries no
// shard label, so the default controller sees it; when its Stage belongs to shard a,
// the default controller labels it for shard a and leaves it, and shard a's
// controller runs it (its Event says so).
func TestManualPromotionMovesToItsStagesShard(t *testing.T) {
	ns := env.Namespace(t, "shard-move")
	makeStage(t, ns, "prod", []haulv1.PromotionStep{rawStep("file-write", "", map[string]any{"path": "x.txt", "contents": "ok"})})
	st := &haulv1.Stage{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "prod"}, st); err != nil {
		t.Fatal(err)
	}
	st.Labels = map[string]string{shard.Label: "a"}
	if err := env.Client.Update(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	freight := strings.Repeat("ab", 20)
	makeFreight(t, ns, freight, "v1")

	startShard(t, "", ns)
	name := promote(t, ns, "prod", freight)
	eventually(t, 30*time.Second, "the default controller to label the Promotion for shard a", func() bool {
		return phase(t, ns, name).Labels[shard.Label] == "a"
	})
	time.Sleep(time.Second)
	if p := phase(t, ns, name); p.Status.Phase != "" {
		t.Fatalf("the default controller ran shard a's Promotion: phase %s", p.Status.Phase)
	}

	startShard(t, "a", ns)
	if p := waitTerminal(t, ns, name, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("shard a: %s: %s", p.Status.Phase, p.Status.Message)
	}
	eventually(t, 30*time.Second, "an Event naming shard a", func() bool {
		var evs corev1.EventList
		if err := env.Client.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == name && strings.Contains(e.Message, "(controller shard a)") {
				return true
			}
		}
		return false
	})
}
