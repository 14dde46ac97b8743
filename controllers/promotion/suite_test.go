package promotion_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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
	promo "github.com/haul-dev/haul/promotion"
)

var env *testenv.Env

// concurrency is the controller's MaxConcurrentReconciles in tests and benchmarks.
var concurrency = 8

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testenv.Run(m, &env))
}

// startController runs the Promotion controller until the returned stop is called.
func startController(t testing.TB, workDir string) (stop func()) {
	t.Helper()
	return startControllerWith(t, promotion.Options{WorkDir: workDir})
}

// startControllerWith is startController with options (the test concurrency is set).
func startControllerWith(t testing.TB, opts promotion.Options) (stop func()) {
	t.Helper()
	return startControllerOn(t, env.Config, opts)
}

// startControllerOn is startControllerWith reaching the API server through cfg.
func startControllerOn(t testing.TB, cfg *rest.Config, opts promotion.Options) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     env.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxConcurrentReconciles = concurrency
	if err := promotion.SetupWithManager(mgr, opts); err != nil {
		t.Fatal(err)
	}
	// The Stage controller records what Promotions did (freight history, currentlyIn).
	if err := stage.SetupWithManager(mgr, stage.Options{WorkDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t testing.TB, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func rawStep(uses, as string, cfg map[string]any) haulv1.PromotionStep {
	raw, _ := json.Marshal(cfg)
	return haulv1.PromotionStep{Uses: uses, As: as, Config: &apiextensionsv1.JSON{Raw: raw}}
}

const kustomization = "resources:\n- ../../base\nimages:\n- name: example.com/app\n  newTag: 0.1.0\n"

func seedGitops(t testing.TB, stages ...string) (*testservers.GitServer, string) {
	t.Helper()
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	files := map[string]string{
		"base/kustomization.yaml": "resources:\n- deployment.yaml\n",
		"base/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: example.com/app:latest\n",
	}
	for _, s := range stages {
		files["stages/"+s+"/kustomization.yaml"] = kustomization
	}
	if _, err := srv.SeedRepo("gitops", files); err != nil {
		t.Fatal(err)
	}
	return srv, srv.RepoURL("gitops")
}

// makeStage creates a Stage taking Freight directly from Warehouse w with the steps.
func makeStage(t testing.TB, ns, name string, steps []haulv1.PromotionStep) {
	t.Helper()
	s := &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: haulv1.StageSpec{
			RequestedFreight: []haulv1.FreightRequest{{
				Origin:  haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
				Sources: haulv1.FreightSources{Direct: true},
			}},
			PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: steps}},
		},
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func makeFreight(t testing.TB, ns, name, tag string) {
	t.Helper()
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Alias:      "a-" + name[:6],
		Origin:     haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "example.com/app", Tag: tag}},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

func promote(t testing.TB, ns, stage, freight string) string {
	t.Helper()
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: promo.NewName(stage, freight)},
		Spec:       haulv1.PromotionSpec{Stage: stage, Freight: freight},
	}
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p.Name
}

func phase(t testing.TB, ns, name string) *haulv1.Promotion {
	p := &haulv1.Promotion{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitTerminal(t testing.TB, ns, name string, d time.Duration) *haulv1.Promotion {
	t.Helper()
	var p *haulv1.Promotion
	eventually(t, d, "Promotion "+name+" to finish", func() bool {
		p = phase(t, ns, name)
		return p.Status.Phase.IsTerminal()
	})
	return p
}
