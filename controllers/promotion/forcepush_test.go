package promotion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/warehouse"
	"github.com/haul-dev/haul/internal/testservers"
)

// startWarehouseController runs the Warehouse controller for ns until the test ends.
func startWarehouseController(t *testing.T, ns string) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := warehouse.NewReconciler(mgr, warehouse.Options{CacheDir: t.TempDir()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// freightWithCommit returns the name of the Freight in ns recording commit sha.
func freightWithCommit(t *testing.T, ns, sha string) string {
	t.Helper()
	var list haulv1.FreightList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, f := range list.Items {
		if len(f.Commits) == 1 && f.Commits[0].ID == sha {
			return f.Name
		}
	}
	return ""
}

// TestForcePushKeepsFreightAndRefusesTheLostCommit is scenario 7 on a real API server
// and Git server: after main is force-pushed, the Warehouse discovers the new head,
// the Freight made before keeps its recorded commit, and promoting that Freight
// fails naming the commit and the repository, although the controller's Git cache
// still holds the orphaned commit from the first promotion. It is not silently
// checked out (nor replaced by the new head).
func TestForcePushKeepsFreightAndRefusesTheLostCommit(t *testing.T) {
	ns := env.Namespace(t, "prom-forcepush")
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	c1, err := g.SeedRepo("app", map[string]string{"version": "1"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := g.Commit("app", "main", map[string]string{"version": "2"}, "two")
	if err != nil {
		t.Fatal(err)
	}
	repo := g.RepoURL("app")
	startWarehouseController(t, ns)
	wh := &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"},
		Spec: haulv1.WarehouseSpec{
			Interval:      metav1.Duration{Duration: time.Hour},
			Subscriptions: []haulv1.RepoSubscription{{Git: &haulv1.GitSubscription{RepoURL: repo}}},
		},
	}
	if err := env.Client.Create(context.Background(), wh); err != nil {
		t.Fatal(err)
	}
	var before string
	eventually(t, 60*time.Second, "Freight for "+c2, func() bool { before = freightWithCommit(t, ns, c2); return before != "" })

	startController(t, t.TempDir())
	makeStage(t, ns, "dev", []haulv1.PromotionStep{
		rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{
			map[string]any{"commit": "${{ commitFrom('" + repo + "').ID }}", "path": "src"}}}),
	})
	if p := waitTerminal(t, ns, promote(t, ns, "dev", before), 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("promotion before the force-push: %s: %s", p.Status.Phase, p.Status.Message)
	}

	// Force-push: main goes back to c1 and gets a different commit on top; c2 is
	// on no branch any more (the server keeps the object, as servers do until gc).
	if _, err := testservers.Git(g.Root+"/app.git", "update-ref", "refs/heads/main", c1); err != nil {
		t.Fatal(err)
	}
	c3, err := g.Commit("app", "main", map[string]string{"version": "3"}, "rewritten")
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"annotations":{"` + haulv1.AnnotationRefresh + `":"` + time.Now().Format(time.RFC3339Nano) + `"}}}`)
	if err := env.Client.Patch(context.Background(), wh, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	var after string
	eventually(t, 60*time.Second, "Freight for the new head "+c3, func() bool { after = freightWithCommit(t, ns, c3); return after != "" })

	var old haulv1.Freight
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: before}, &old); err != nil {
		t.Fatalf("the Freight made before the force-push: %v", err)
	}
	if old.Commits[0].ID != c2 {
		t.Fatalf("Freight %s now records %s, want its original %s", before, old.Commits[0].ID, c2)
	}

	p := waitTerminal(t, ns, promote(t, ns, "dev", before), 60*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored && p.Status.Phase != haulv1.PromotionFailed {
		t.Fatalf("promotion of the force-pushed-away commit: %s: %s", p.Status.Phase, p.Status.Message)
	}
	for _, want := range []string{c2, repo, "not reachable from any branch or tag"} {
		if !strings.Contains(p.Status.Message, want) {
			t.Errorf("message %q does not name %q", p.Status.Message, want)
		}
	}
	if p := waitTerminal(t, ns, promote(t, ns, "dev", after), 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("promotion of the new head: %s: %s", p.Status.Phase, p.Status.Message)
	}
}
