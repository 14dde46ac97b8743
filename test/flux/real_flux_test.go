//go:build flux

package flux

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	promotionctrl "github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

var (
	gitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

const appImage = "registry.example/app"

func raw(v any) *apiextensionsv1.JSON {
	b, _ := json.Marshal(v)
	return &apiextensionsv1.JSON{Raw: b}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing with its last message after timeout.
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

// seedDeployRepo starts a Git server with a repository whose main branch holds the base
// manifests a Stage renders into its stage branch.
func seedDeployRepo(t *testing.T) (*testservers.GitServer, string) {
	t.Helper()
	git, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	t.Cleanup(func() { _ = git.Close() })
	_, err = git.SeedRepo("deploy", map[string]string{
		"base/kustomization.yaml": "resources:\n- configmap.yaml\n",
		"base/configmap.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    version: \"0\"\ndata:\n  tag: \"0\"\n",
	})
	must(t, err)
	return git, git.RepoURL("deploy")
}

// createFluxObjects creates a GitRepository following branch and a Kustomization that
// applies its root into targetNamespace. Both have a long interval: only the
// reconciliations flux-reconcile requests (and Flux's own watches) move them.
func createFluxObjects(t *testing.T, dyn dynamic.Interface, ns, repoURL, branch, targetNamespace string, suspend bool) {
	t.Helper()
	ctx := context.Background()
	repo := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "app", "namespace": ns},
		"spec": map[string]any{"url": repoURL, "interval": "10m", "timeout": "20s",
			"ref": map[string]any{"branch": branch}},
	}}
	_, err := dyn.Resource(gitRepositoryGVR).Namespace(ns).Create(ctx, repo, metav1.CreateOptions{})
	must(t, err)
	ks := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "app", "namespace": ns},
		"spec": map[string]any{
			"interval": "10m", "retryInterval": "5s", "timeout": "30s", "prune": true, "path": "./",
			"targetNamespace": targetNamespace, "suspend": suspend,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "app"},
		},
	}}
	_, err = dyn.Resource(kustomizationGVR).Namespace(ns).Create(ctx, ks, metav1.CreateOptions{})
	must(t, err)
}

func fluxResources(ns string) []any {
	return []any{
		map[string]any{"kind": "GitRepository", "name": "app", "namespace": ns},
		map[string]any{"kind": "Kustomization", "name": "app", "namespace": ns},
	}
}

// stageSteps renders the Freight's image tag into the base manifests, pushes them to
// the stage branch and has Flux reconcile the pushed commit.
func stageSteps(repoURL, fluxNamespace, name string) []haulv1.PromotionStep {
	tag := `${{ imageFrom("` + appImage + `").tag }}`
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
		{Uses: "flux-reconcile", As: "reconcile", Retry: &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: 2 * time.Minute}},
			Config: raw(map[string]any{"resources": fluxResources(fluxNamespace)})},
	}
}

// startHaul runs Haul's Stage and Promotion controllers in the test process.
func startHaul(t *testing.T) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "haul.log")
	logf, err := os.Create(logPath)
	must(t, err)
	ctrl.SetLogger(zap.New(zap.WriteTo(logf)))
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- Haul controllers log (tail) ---\n%s", b)
		}
	})
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	must(t, err)
	work := t.TempDir()
	// A short Interval re-checks a Healthy Stage's health soon enough for a test to see
	// an inventory object go missing.
	must(t, stage.SetupWithManager(mgr, stage.Options{Interval: 2 * time.Second, HealthInterval: time.Second, WorkDir: work}))
	must(t, promotionctrl.SetupWithManager(mgr, promotionctrl.Options{WorkDir: work}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = mgr.Start(ctx) }()
}

func getStage(t *testing.T, ns, name string) *haulv1.Stage {
	t.Helper()
	s := &haulv1.Stage{}
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s))
	return s
}

func healthOf(s *haulv1.Stage) string {
	if s.Status.Health == nil {
		return "none"
	}
	return fmt.Sprintf("%s %v", s.Status.Health.Status, s.Status.Health.Issues)
}

// promotionOf waits for the Promotion of freight to stage to finish and returns it.
func promotionOf(t *testing.T, ns, stageName, freight string, timeout time.Duration) *haulv1.Promotion {
	t.Helper()
	var got *haulv1.Promotion
	eventually(t, timeout, "the promotion of "+freight+" to "+stageName+" to finish", func() (bool, string) {
		var list haulv1.PromotionList
		must(t, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
		var seen []string
		for i, p := range list.Items {
			seen = append(seen, fmt.Sprintf("%s[%s: %s]", p.Name, p.Status.Phase, p.Status.Message))
			if p.Spec.Freight == freight && p.Spec.Stage == stageName {
				got = &list.Items[i]
				switch p.Status.Phase {
				case haulv1.PromotionSucceeded, haulv1.PromotionFailed, haulv1.PromotionErrored, haulv1.PromotionAborted:
					return true, ""
				}
			}
		}
		sort.Strings(seen)
		return false, strings.Join(seen, " ")
	})
	return got
}

func stepMessage(p *haulv1.Promotion, alias string) string {
	for _, m := range p.Status.StepExecutionMetadata {
		if m.Alias == alias {
			return string(m.Status) + ": " + m.Message
		}
	}
	return "no step " + alias
}

func pushedCommit(t *testing.T, p *haulv1.Promotion) string {
	t.Helper()
	var state map[string]any
	if p.Status.State != nil {
		must(t, json.Unmarshal(p.Status.State.Raw, &state))
	}
	push, _ := state["push"].(map[string]any)
	commit, _ := push["commit"].(string)
	if commit == "" {
		t.Fatalf("promotion %s recorded no pushed commit: state %v", p.Name, state)
	}
	return commit
}

func kustomization(t *testing.T, dyn dynamic.Interface, ns string) *unstructured.Unstructured {
	t.Helper()
	k, err := dyn.Resource(kustomizationGVR).Namespace(ns).Get(context.Background(), "app", metav1.GetOptions{})
	must(t, err)
	return k
}

// TestStagePromotesThroughRealFlux drives a Stage whose promotion renders a tag into a
// stage branch and runs flux-reconcile against the real source-controller and
// kustomize-controller: the Kustomization applies exactly the pushed commit, the
// Promotion finishes only once it has, and the Stage's health then follows the
// Kustomization and the objects in its inventory. A Freight whose manifest the API
// server rejects fails its promotion with Flux's message.
func TestStagePromotesThroughRealFlux(t *testing.T) {
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	const project = "flux-pipeline"
	git, repoURL := seedDeployRepo(t)
	ns := env.Namespace(t, project)
	target := env.Namespace(t, "flux-pipeline-app")
	createFluxObjects(t, dyn, ns, repoURL, "stage/test", target, false)

	pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	pc.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(t, env.Client.Create(ctx, pc))
	s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"}}
	req := haulv1.FreightRequest{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}}
	req.Sources.Direct = true
	s.Spec.RequestedFreight = []haulv1.FreightRequest{req}
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: stageSteps(repoURL, ns, "test")}}
	must(t, env.Client.Create(ctx, s))
	startHaul(t)

	newFreight := func(n int, tag string) *haulv1.Freight {
		f := &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040d", n)},
			Alias:      fmt.Sprintf("release-%d", n),
			Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
			Images:     []haulv1.Image{{RepoURL: appImage, Tag: tag}},
		}
		must(t, env.Client.Create(ctx, f))
		return f
	}

	for n, tag := range []string{"1.0.0", "1.1.0"} {
		start := time.Now()
		f := newFreight(n+1, tag)
		p := promotionOf(t, ns, "test", f.Name, 3*time.Minute)
		if p.Status.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("promotion of %s: %s: %s (flux-reconcile %s)", tag, p.Status.Phase, p.Status.Message, stepMessage(p, "reconcile"))
		}
		t.Logf("Freight %s (tag %s): created → promoted through real Flux in %s", f.Alias, tag, time.Since(start).Round(10*time.Millisecond))
		sha := pushedCommit(t, p)
		if head, err := git.RevParse("deploy", "stage/test"); err != nil || head != sha {
			t.Fatalf("stage/test is at %s (%v), the promotion pushed %s", head, err, sha)
		}
		// The step finished only once Flux was Ready at the pushed commit: read right
		// after, the Kustomization already reports it applied.
		k := kustomization(t, dyn, ns)
		applied, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
		if !strings.HasSuffix(applied, ":"+sha) {
			t.Errorf("Kustomization lastAppliedRevision = %q, want the pushed commit %s", applied, sha)
		}
		if msg := stepMessage(p, "reconcile"); !strings.Contains(msg, "Ready at "+sha) {
			t.Errorf("flux-reconcile step: %s; want it to report Ready at %s", msg, sha)
		}
		cm := &corev1.ConfigMap{}
		must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: target, Name: "app"}, cm))
		if cm.Data["tag"] != tag {
			t.Errorf("the applied ConfigMap carries tag %q, want the promoted %q", cm.Data["tag"], tag)
		}
		eventually(t, 30*time.Second, "the Stage to be Healthy", func() (bool, string) {
			st := getStage(t, ns, "test")
			return st.Status.Health != nil && st.Status.Health.Status == haulv1.HealthHealthy, healthOf(st)
		})
	}

	// An object Flux applied goes missing: the Stage names it from the Kustomization's
	// inventory, and recovers once Flux has put it back.
	must(t, env.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: target, Name: "app"}}))
	eventually(t, 30*time.Second, "the Stage to report the missing ConfigMap", func() (bool, string) {
		st := getStage(t, ns, "test")
		h := st.Status.Health
		return h != nil && h.Status == haulv1.HealthUnhealthy && strings.Contains(strings.Join(h.Issues, ";"), "ConfigMap "+target+"/app"), healthOf(st)
	})
	t.Logf("health with an inventory object deleted: %s", healthOf(getStage(t, ns, "test")))
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	_, err := dyn.Resource(kustomizationGVR).Namespace(ns).Patch(ctx, "app", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	must(t, err)
	eventually(t, time.Minute, "the Stage to be Healthy once Flux re-applied the ConfigMap", func() (bool, string) {
		st := getStage(t, ns, "test")
		return st.Status.Health != nil && st.Status.Health.Status == haulv1.HealthHealthy, healthOf(st)
	})

	// A label value may not end in "-": the API server rejects the manifest, Flux says
	// so, and the promotion fails with Flux's words rather than timing out.
	bad := newFreight(3, "1.2.0-")
	p := promotionOf(t, ns, "test", bad.Name, 3*time.Minute)
	msg := stepMessage(p, "reconcile")
	t.Logf("bad Freight: promotion %s: %s; flux-reconcile %s", p.Status.Phase, p.Status.Message, msg)
	if p.Status.Phase != haulv1.PromotionFailed {
		t.Fatalf("promotion of the bad Freight: %s, want Failed", p.Status.Phase)
	}
	if !strings.Contains(msg, "Kustomization "+ns+"/app is not Ready") || !strings.Contains(msg, "ConfigMap/"+target+"/app") || strings.Contains(msg, "timed out") {
		t.Errorf("flux-reconcile step: %s; want Flux's failure naming the rejected ConfigMap", msg)
	}
	eventually(t, 30*time.Second, "the Stage to turn Unhealthy", func() (bool, string) {
		st := getStage(t, ns, "test")
		h := st.Status.Health
		return h != nil && h.Status == haulv1.HealthUnhealthy && strings.Contains(strings.Join(h.Issues, ";"), "Kustomization "+ns+"/app"), healthOf(st)
	})
}

// TestFluxReconcileTimesOutWhileFluxIsSuspended: a suspended Kustomization never applies
// the pushed commit, so the step fails at its retry.timeout, saying the Kustomization is
// suspended.
func TestFluxReconcileTimesOutWhileFluxIsSuspended(t *testing.T) {
	dyn := dynamic.NewForConfigOrDie(env.Config)
	git, repoURL := seedDeployRepo(t)
	ns := env.Namespace(t, "flux-suspended")
	target := env.Namespace(t, "flux-suspended-app")
	sha, err := git.Commit("deploy", "main", map[string]string{"base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  tag: \"2\"\n"}, "two")
	must(t, err)
	createFluxObjects(t, dyn, ns, repoURL, "main", target, true)

	cfg := raw(map[string]any{"resources": []any{map[string]any{"kind": "Kustomization", "name": "app", "namespace": ns}}, "revision": sha})
	eng := &promotion.Engine{Registry: steps.Builtin(), Services: &promotion.Services{Dynamic: dyn}}
	var state promotion.State
	var res promotion.Result
	start := time.Now()
	for deadline := start.Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, state = eng.Run(context.Background(), promotion.Request{
			Project: ns, Stage: "test", Promotion: "test.promo",
			Steps: []haulv1.PromotionStep{{Uses: "flux-reconcile", As: "reconcile", Config: cfg,
				Retry: &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: 5 * time.Second}}}},
			WorkDir: t.TempDir(), State: state,
		})
		if res.Phase != haulv1.PromotionRunning {
			break
		}
	}
	if res.Phase != haulv1.PromotionFailed || !strings.Contains(res.Message, "timed out after 5s") ||
		!strings.Contains(res.Message, "Kustomization "+ns+"/app") || !strings.Contains(res.Message, "suspended in Flux") {
		t.Fatalf("after %s: phase %s: %s; want Failed at the 5s timeout, saying the Kustomization is suspended", time.Since(start).Round(time.Second), res.Phase, res.Message)
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: target, Name: "app"}, cm); err == nil {
		t.Errorf("the suspended Kustomization applied ConfigMap %s/app", target)
	}
}

// TestPushToReadyLatencyThroughRealFlux measures how long flux-reconcile takes from a
// push to the Kustomization being Ready at that commit, over several pushes.
func TestPushToReadyLatencyThroughRealFlux(t *testing.T) {
	dyn := dynamic.NewForConfigOrDie(env.Config)
	git, repoURL := seedDeployRepo(t)
	ns := env.Namespace(t, "flux-latency")
	target := env.Namespace(t, "flux-latency-app")
	createFluxObjects(t, dyn, ns, repoURL, "main", target, false)
	cfg := map[string]any{"resources": fluxResources(ns)}
	var took []time.Duration
	for i := range 5 {
		value := fmt.Sprintf("v%d", i)
		start := time.Now()
		sha, err := git.Commit("deploy", "main", map[string]string{
			"base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  tag: " + value + "\n",
		}, "push "+value)
		must(t, err)
		cfg["revision"] = sha
		res, _ := runStep(t, dyn, ns, cfg, nil)
		d := time.Since(start)
		if res.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("push %d: phase %s: %s", i, res.Phase, res.Message)
		}
		cm := &corev1.ConfigMap{}
		must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: target, Name: "app"}, cm))
		if cm.Data["tag"] != value {
			t.Fatalf("push %d: ConfigMap tag %q, want %q", i, cm.Data["tag"], value)
		}
		took = append(took, d)
	}
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("push → Kustomization Ready at the pushed commit through real Flux, %d pushes: min %s, median %s, max %s",
		len(took), sorted[0].Round(time.Millisecond), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
}

// conditionMessage is the message of an object's condition of type typ with status.
func conditionMessage(u *unstructured.Unstructured, typ, status string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ && m["status"] == status {
			msg, _ := m["message"].(string)
			return msg
		}
	}
	return ""
}

// TestStageNamesAFailingInventoryObject: a Kustomization that applied everything is
// Ready, yet an object in its inventory can be failing on its own. Here the stage's
// manifests hold a Flux GitRepository whose repository does not exist: source-controller
// marks it Ready=False (and keeps retrying), the Stage turns Unhealthy naming that
// object and what source-controller said, and turns Healthy once the repository exists.
func TestStageNamesAFailingInventoryObject(t *testing.T) {
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	git, repoURL := seedDeployRepo(t)
	_, err := git.Commit("deploy", "main", map[string]string{
		"base/kustomization.yaml": "resources:\n- configmap.yaml\n- source.yaml\n",
		"base/source.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: nested\n" +
			"spec:\n  url: " + git.RepoURL("later") + "\n  interval: 10m\n  timeout: 10s\n  ref:\n    branch: main\n",
	}, "the app also brings a Flux source")
	must(t, err)
	ns := env.Namespace(t, "flux-inventory")
	target := env.Namespace(t, "flux-inventory-app")
	createFluxObjects(t, dyn, ns, repoURL, "stage/test", target, false)
	pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	pc.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(t, env.Client.Create(ctx, pc))
	s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"}}
	req := haulv1.FreightRequest{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}}
	req.Sources.Direct = true
	s.Spec.RequestedFreight = []haulv1.FreightRequest{req}
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: stageSteps(repoURL, ns, "test")}}
	must(t, env.Client.Create(ctx, s))
	startHaul(t)

	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040d", 1)},
		Alias:      "release-1",
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
		Images:     []haulv1.Image{{RepoURL: appImage, Tag: "1.0.0"}},
	}
	must(t, env.Client.Create(ctx, f))
	p := promotionOf(t, ns, "test", f.Name, 3*time.Minute)
	if p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("promotion: %s: %s (flux-reconcile %s)", p.Status.Phase, p.Status.Message, stepMessage(p, "reconcile"))
	}

	key := "Kustomization " + ns + "/app inventory: GitRepository " + target + "/nested is not Ready"
	var sourceSays string
	eventually(t, time.Minute, "the Stage to name the failing GitRepository from the inventory", func() (bool, string) {
		nested, err := dyn.Resource(gitRepositoryGVR).Namespace(target).Get(ctx, "nested", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		sourceSays = conditionMessage(nested, "Ready", "False")
		st := getStage(t, ns, "test")
		h := st.Status.Health
		issues := ""
		if h != nil {
			issues = strings.Join(h.Issues, "; ")
		}
		return sourceSays != "" && h != nil && h.Status == haulv1.HealthUnhealthy && strings.Contains(issues, key) && strings.Contains(issues, sourceSays),
			fmt.Sprintf("source-controller: %q; Stage: %s", sourceSays, healthOf(st))
	})
	t.Logf("health with a failing inventory object: %s", healthOf(getStage(t, ns, "test")))
	if k := kustomization(t, dyn, ns); conditionMessage(k, "Ready", "True") == "" {
		t.Errorf("the Kustomization itself is not Ready (%v): the Stage's verdict must come from its inventory", k.Object["status"])
	}

	// The repository appears; once source-controller has fetched it the Stage is Healthy.
	_, err = git.SeedRepo("later", map[string]string{"README.md": "here now\n"})
	must(t, err)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	_, err = dyn.Resource(gitRepositoryGVR).Namespace(target).Patch(ctx, "nested", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	must(t, err)
	eventually(t, time.Minute, "the Stage to be Healthy once the nested source is Ready", func() (bool, string) {
		st := getStage(t, ns, "test")
		return st.Status.Health != nil && st.Status.Health.Status == haulv1.HealthHealthy, healthOf(st)
	})
}
