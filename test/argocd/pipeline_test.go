//go:build argocd

package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	promotionctrl "github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

const (
	project = "demo"
	image   = "registry.example/app"
)

var stages = []string{"test", "uat", "prod"}

func raw(v any) *apiextensionsv1.JSON {
	b, _ := json.Marshal(v)
	return &apiextensionsv1.JSON{Raw: b}
}

// stageSteps renders the image tag into the base manifests, builds them into the
// stage branch and has Argo CD sync the pushed commit.
func stageSteps(repoURL, name string) []haulv1.PromotionStep {
	tag := `${{ imageFrom("` + image + `").tag }}`
	return []haulv1.PromotionStep{
		{Uses: "git-clone", Config: raw(map[string]any{"repoURL": repoURL, "checkout": []any{
			map[string]any{"branch": "main", "path": "src"},
			map[string]any{"branch": "stage/" + name, "create": true, "path": "out"}}})},
		{Uses: "git-clear", Config: raw(map[string]any{"path": "out"})},
		{Uses: "yaml-update", Config: raw(map[string]any{"path": "src/base/configmap.yaml", "updates": []any{
			map[string]any{"key": "data.tag", "value": tag},
			map[string]any{"key": "metadata.labels.version", "value": tag}}})},
		{Uses: "kustomize-build", Config: raw(map[string]any{"path": "src/base", "outPath": "out/manifests.yaml"})},
		{Uses: "git-commit", Config: raw(map[string]any{"path": "out", "message": "promote " + tag})},
		{Uses: "git-push", As: "push", Config: raw(map[string]any{"path": "out", "targetBranch": "stage/" + name})},
		{Uses: "argocd-update", Config: raw(map[string]any{"apps": []any{map[string]any{
			"name": "app-" + name, "namespace": "argocd", "sources": []any{map[string]any{"repoURL": repoURL}}}}})},
	}
}

func startHaul(t *testing.T) {
	t.Helper()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testenv.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := stage.SetupWithManager(mgr, stage.Options{HealthInterval: time.Second, WorkDir: work}); err != nil {
		t.Fatal(err)
	}
	if err := promotionctrl.SetupWithManager(mgr, promotionctrl.Options{WorkDir: work}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = mgr.Start(ctx) }()
}

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
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

func getStage(t *testing.T, name string) *haulv1.Stage {
	s := &haulv1.Stage{}
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: project, Name: name}, s))
	return s
}

func current(s *haulv1.Stage) string {
	if len(s.Status.FreightHistory) == 0 {
		return ""
	}
	for _, it := range s.Status.FreightHistory[0].Items {
		return it.Name
	}
	return ""
}

func app(t *testing.T, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("argoproj.io/v1alpha1")
	u.SetKind("Application")
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: "argocd", Name: name}, u))
	return u
}

func newFreight(t *testing.T, n int, tag string) *haulv1.Freight {
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: fmt.Sprintf("%040d", n)},
		Alias:      fmt.Sprintf("release-%d", n),
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
		Images:     []haulv1.Image{{RepoURL: image, Tag: tag}},
	}
	must(t, k8s.Create(context.Background(), f))
	return f
}

func promotionsOf(t *testing.T, name string) string {
	var list haulv1.PromotionList
	must(t, k8s.List(context.Background(), &list, client.InNamespace(project)))
	var out []string
	for _, p := range list.Items {
		if p.Spec.Stage == name {
			out = append(out, fmt.Sprintf("%s[%s: %s]", p.Spec.Freight[len(p.Spec.Freight)-3:], p.Status.Phase, p.Status.Message))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestPipelineWithRealArgoCD(t *testing.T) {
	ctx := context.Background()
	git, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer git.Close()
	_, err = git.SeedRepo("deploy", map[string]string{
		"base/kustomization.yaml": "resources:\n- configmap.yaml\n",
		"base/configmap.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    version: \"0\"\ndata:\n  tag: \"0\"\n",
	})
	must(t, err)
	repoURL := git.RepoURL("deploy")
	var probes atomic.Int64
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { probes.Add(1) }))
	defer probe.Close()

	must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project}}))
	pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project}}
	pc.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(t, k8s.Create(ctx, pc))
	for i, name := range stages {
		must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app-" + name}}))
		a := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": "app-" + name, "namespace": "argocd",
				"annotations": map[string]any{haulv1.AnnotationAuthorizedStage: project + ":" + name}},
			"spec": map[string]any{
				"project":     "default",
				"source":      map[string]any{"repoURL": repoURL, "targetRevision": "stage/" + name, "path": "."},
				"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "app-" + name},
			},
		}}
		must(t, k8s.Create(ctx, a))
		s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: name}}
		req := haulv1.FreightRequest{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}}
		if i == 0 {
			req.Sources.Direct = true
		} else {
			req.Sources.Stages = []string{stages[i-1]}
		}
		s.Spec.RequestedFreight = []haulv1.FreightRequest{req}
		s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: stageSteps(repoURL, name)}}
		// One HTTP check per stage, as a smoke test of the deployed version would be.
		s.Spec.Verification = &haulv1.Verification{Steps: []haulv1.PromotionStep{{Uses: "http", As: "smoke", Config: raw(map[string]any{
			"url": probe.URL + "/" + name, "successExpression": "response.status == 200"})}}}
		must(t, k8s.Create(ctx, s))
	}
	startHaul(t)

	for _, step := range []struct {
		n   int
		tag string
	}{{1, "1.0.0"}, {2, "1.1.0"}} {
		start := time.Now()
		f := newFreight(t, step.n, step.tag)
		eventually(t, 3*time.Minute, "Freight "+f.Alias+" verified in prod", func() (bool, string) {
			got := &haulv1.Freight{}
			must(t, k8s.Get(ctx, client.ObjectKeyFromObject(f), got))
			_, ok := got.Status.VerifiedIn["prod"]
			var parts []string
			for _, s := range stages {
				st := getStage(t, s)
				h := "-"
				if st.Status.Health != nil {
					h = string(st.Status.Health.Status) + fmt.Sprint(st.Status.Health.Issues)
				}
				parts = append(parts, fmt.Sprintf("%s: cur=%s health=%s promos=%s", s, current(st), h, promotionsOf(t, s)))
			}
			return ok, strings.Join(parts, " | ")
		})
		t.Logf("Freight %s (tag %s): created → verified in prod through 3 auto-promoted stages (git push, Argo CD sync, one HTTP check each): %s",
			f.Alias, step.tag, time.Since(start).Round(10*time.Millisecond))

		for _, name := range stages {
			want, err := git.RevParse("deploy", "stage/"+name)
			must(t, err)
			a := app(t, "app-"+name)
			sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
			rev, _, _ := unstructured.NestedString(a.Object, "status", "sync", "revision")
			health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
			if sync != "Synced" || rev != want || health != "Healthy" {
				t.Errorf("Application app-%s: %s at %s, %s; want Synced at the pushed commit %s, Healthy", name, sync, rev, health, want)
			}
			cm := &corev1.ConfigMap{}
			must(t, k8s.Get(ctx, client.ObjectKey{Namespace: "app-" + name, Name: "app"}, cm))
			if cm.Data["tag"] != step.tag {
				t.Errorf("stage %s runs tag %q, want %q", name, cm.Data["tag"], step.tag)
			}
			st := getStage(t, name)
			if st.Status.Health == nil || st.Status.Health.Status != haulv1.HealthHealthy {
				t.Errorf("stage %s health = %+v, want Healthy", name, st.Status.Health)
			}
		}
	}

	if probes.Load() < 6 {
		t.Errorf("the verification checks ran %d times, want at least one per stage and Freight", probes.Load())
	}

	// A Freight whose manifests the API server rejects: Argo CD's sync fails, the
	// promotion fails, test turns Unhealthy, and the Freight goes no further.
	bad := newFreight(t, 3, "1.2.0-")
	eventually(t, 3*time.Minute, "the promotion of the bad Freight to fail", func() (bool, string) {
		var list haulv1.PromotionList
		must(t, k8s.List(ctx, &list, client.InNamespace(project)))
		for _, p := range list.Items {
			if p.Spec.Freight == bad.Name && p.Spec.Stage == "test" {
				return p.Status.Phase == haulv1.PromotionFailed, fmt.Sprintf("%s: %s", p.Status.Phase, p.Status.Message)
			}
		}
		return false, "no promotion yet"
	})
	eventually(t, time.Minute, "the test stage to turn Unhealthy because the sync failed", func() (bool, string) {
		st := getStage(t, "test")
		h := st.Status.Health
		return h != nil && h.Status == haulv1.HealthUnhealthy && strings.Contains(strings.Join(h.Issues, ";"), "last sync Failed"),
			fmt.Sprintf("health=%+v ready=%v", h, st.Status.Conditions)
	})
	st := getStage(t, "test")
	t.Logf("test stage health after the failed sync: %s %v", st.Status.Health.Status, st.Status.Health.Issues)
	if !strings.Contains(strings.Join(st.Status.Health.Issues, ";"), "app-test") {
		t.Errorf("health issues %v do not name the Application", st.Status.Health.Issues)
	}
	got := &haulv1.Freight{}
	must(t, k8s.Get(ctx, client.ObjectKeyFromObject(bad), got))
	if _, ok := got.Status.VerifiedIn["test"]; ok {
		t.Error("the bad Freight was verified in test")
	}
	if strings.Contains(promotionsOf(t, "uat"), bad.Name[len(bad.Name)-3:]+"[") {
		t.Errorf("uat was promoted with the bad Freight: %s", promotionsOf(t, "uat"))
	}
}
