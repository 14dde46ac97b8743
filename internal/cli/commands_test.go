package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestGet(t *testing.T) {
	h := newHarness(t)
	ns := "get-demo"
	setupPipeline(t, h, ns)

	out := h.mustRun("-p", ns, "get", "stages")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME   FREIGHT   HEALTH   PHASE   AUTO   AGE") || !strings.HasPrefix(lines[1], "prod   -") {
		t.Fatalf("get stages:\n%s", out)
	}
	for _, alias := range []string{"stage", "stg", "Stages", "stages.haul.dev"} {
		if got := h.mustRun("-p", ns, "get", alias, "--no-headers", "-o", "name"); got != "stage.haul.dev/prod\nstage.haul.dev/test\nstage.haul.dev/uat\n" {
			t.Errorf("get %s -o name = %q", alias, got)
		}
	}
	out = h.mustRun("-p", ns, "get", "freight", "--no-headers")
	if !strings.Contains(out, "calm-heron    2222222   app   app:1.1.0") || !strings.Contains(out, "brave-otter   1111111") {
		t.Fatalf("get freight:\n%s", out)
	}
	if got := h.mustRun("-p", ns, "get", "freight", "--alias", "brave-otter", "-o", "name"); got != "freight.haul.dev/1111111111111111111111111111111111111111\n" {
		t.Errorf("--alias: %q", got)
	}
	if got := h.mustRun("-p", ns, "get", "freight", "--warehouse", "other", "-o", "name"); got != "" {
		t.Errorf("--warehouse other: %q", got)
	}
	// Freight by alias, as JSON.
	var f haulv1.Freight
	if err := json.Unmarshal([]byte(h.mustRun("-p", ns, "get", "freight", "calm-heron", "-o", "json")), &f); err != nil {
		t.Fatal(err)
	}
	if f.Kind != "Freight" || f.APIVersion != "haul.dev/v1alpha1" || f.Name != "2222222222222222222222222222222222222222" || f.ManagedFields != nil {
		t.Errorf("get freight -o json = %+v", f.TypeMeta)
	}

	h.mustRun("-p", ns, "promote", "--stage", "test", "--freight-alias", "calm-heron")
	h.mustRun("-p", ns, "promote", "--stage", "uat", "--freight-alias", "brave-otter")
	out = h.mustRun("-p", ns, "get", "promotions", "--stage", "uat", "--no-headers")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "   uat   1111111") {
		t.Errorf("get promotions --stage uat:\n%s", out)
	}

	_, errOut, err := h.run("-p", ns, "get", "promotiontasks")
	if err != nil || errOut != "no promotiontasks found in project \"get-demo\"\n" {
		t.Errorf("empty list: err=%v stderr=%q", err, errOut)
	}
	_, _, err = h.run("-p", ns, "get", "stage", "nope")
	if err == nil || err.Error() != `stage "nope" not found in project "get-demo"` {
		t.Errorf("not found: %v", err)
	}
	_, _, err = h.run("-p", ns, "get", "gizmos")
	if err == nil || !strings.Contains(err.Error(), `unknown resource type "gizmos"`) {
		t.Errorf("unknown type: %v", err)
	}
	_, _, err = h.run("get", "stages")
	if err == nil || !strings.Contains(err.Error(), "no project: pass -p/--project or run `haul config set-project NAME`") {
		t.Errorf("no project: %v", err)
	}
}

func TestConfigSetProjectIsTheDefault(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "cfg-demo")
	out := h.mustRun("config", "set-project", "cfg-demo")
	if !strings.HasPrefix(out, `default project set to "cfg-demo"`) {
		t.Fatalf("set-project: %q", out)
	}
	if got := h.mustRun("get", "warehouses", "-o", "name"); got != "warehouse.haul.dev/app\n" {
		t.Fatalf("get without -p: %q", got)
	}
	view := h.mustRun("config", "view")
	if !strings.Contains(view, "project:     cfg-demo\n") || !strings.Contains(view, "context:     test\n") || !strings.Contains(view, "haul/config.yaml") {
		t.Fatalf("config view:\n%s", view)
	}
	if _, _, err := h.run("config", "set-project", "Not_A_Name"); err == nil {
		t.Fatal("invalid project name accepted")
	}

	// KUBECONFIG is honoured when --kubeconfig is not given.
	t.Setenv("KUBECONFIG", h.kubeconfig)
	h.kubeconfig = ""
	if got := h.mustRun("get", "stages", "-o", "name"); !strings.Contains(got, "stage.haul.dev/test") {
		t.Fatalf("get via KUBECONFIG: %q", got)
	}
}

func TestRefreshWaitsUntilHandled(t *testing.T) {
	h := newHarness(t)
	ns := "refresh-demo"
	setupPipeline(t, h, ns)
	// Play the warehouse controller: acknowledge whatever refresh is requested.
	go func() {
		_ = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			w := &haulv1.Warehouse{}
			if err := env.Client.Get(ctx, objKey(ns, "app"), w); err != nil {
				return false, nil
			}
			v := w.Annotations[haulv1.AnnotationRefresh]
			if v == "" {
				return false, nil
			}
			w.Status.LastHandledRefresh = v
			return env.Client.Status().Update(ctx, w) == nil, nil
		})
	}()
	out := h.mustRun("-p", ns, "refresh", "warehouse", "app", "--wait")
	if out != "warehouse.haul.dev/app refresh requested\nwarehouse.haul.dev/app refreshed\n" {
		t.Fatalf("got %q", out)
	}
	_, _, err := h.run("-p", ns, "refresh", "stage", "test", "--wait", "--timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "did not handle the refresh within 1s") {
		t.Fatalf("unhandled refresh: %v", err)
	}
	out = h.mustRun("-p", ns, "verify", "stage", "test")
	if out != "stage.haul.dev/test verification requested\n" {
		t.Fatalf("verify: %q", out)
	}
	st := &haulv1.Stage{}
	if err := env.Client.Get(t.Context(), objKey(ns, "test"), st); err != nil {
		t.Fatal(err)
	}
	if st.Annotations[haulv1.AnnotationReverify] == "" || st.Annotations[haulv1.AnnotationRefresh] == "" {
		t.Fatalf("annotations = %v", st.Annotations)
	}
}

func TestLogsShowsStepsMessagesAndOutputs(t *testing.T) {
	h := newHarness(t)
	ns := "logs-demo"
	setupPipeline(t, h, ns)
	h.mustRun("-p", ns, "promote", "--stage", "test", "--freight-alias", "calm-heron")
	p := onlyPromotion(t, ns, "test")
	start := metav1.NewTime(time.Now().Add(-time.Minute))
	mid := metav1.NewTime(start.Add(4 * time.Second))
	end := metav1.NewTime(start.Add(10 * time.Second))
	p.Status = haulv1.PromotionStatus{
		Phase: haulv1.PromotionFailed, Message: "step step-2 failed", StartedAt: &start, FinishedAt: &end, CurrentStep: 1,
		Freight: &haulv1.FreightReference{Name: p.Spec.Freight, Alias: "calm-heron"},
		Steps:   []haulv1.PromotionStep{{Uses: "git-clone", As: "clone"}, {Uses: "git-push"}},
		StepExecutionMetadata: []haulv1.StepExecutionMetadata{
			{Alias: "clone", StartedAt: &start, FinishedAt: &mid, Status: haulv1.StepSucceeded},
			{Alias: "step-2", StartedAt: &mid, FinishedAt: &end, Status: haulv1.StepFailed, ErrorCount: 2, Message: "non-fast-forward\nremote rejected"},
		},
		State: &apiextensionsv1.JSON{Raw: []byte(`{"clone":{"commit":"abc123"}}`)},
	}
	if err := env.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	out := h.mustRun("-p", ns, "logs", "promotion", p.Name)
	want := "Stage:     test\nFreight:   calm-heron (2222222)\nPhase:     Failed (10s)\nActor:     cli:"
	if !strings.Contains(out, want) {
		t.Errorf("header:\n%s", out)
	}
	for _, w := range []string{
		"\n[1/2] clone (git-clone): Succeeded in 4s\n  outputs:\n    commit: abc123\n",
		"\n[2/2] step-2 (git-push): Failed in 6s, 2 error(s)\n  | non-fast-forward\n  | remote rejected\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("logs lack %q:\n%s", w, out)
		}
	}
}

func TestDeleteAndPipeline(t *testing.T) {
	h := newHarness(t)
	ns := "del-demo"
	projectNamespace(t, ns)
	path := writeFile(t, "p.yaml", pipelineYAML(ns))
	h.mustRun("apply", "-f", path)

	out := h.mustRun("-p", ns, "pipeline")
	want := "0  ◆ app   warehouse           ──▶ test\n1  ● test  -          Unknown  ──▶ uat\n2  ● uat   -          Unknown\n"
	if out != want {
		t.Errorf("pipeline:\n%q\nwant:\n%q", out, want)
	}

	out = h.mustRun("-p", ns, "delete", "stage", "uat")
	if out != "stage.haul.dev/uat deleted\n" {
		t.Fatalf("delete: %q", out)
	}
	_, _, err := h.run("-p", ns, "delete", "stage", "uat")
	if err == nil || err.Error() != `stage "uat" not found in project "del-demo"` {
		t.Fatalf("delete again: %v", err)
	}
	out = h.mustRun("delete", "-f", path)
	want = "stage.haul.dev/test deleted\nstage.haul.dev/uat not found\nwarehouse.haul.dev/app deleted\nproject.haul.dev/del-demo deleted\n"
	if out != want {
		t.Fatalf("delete -f:\n%s\nwant:\n%s", out, want)
	}
	if n := countObjects(t, &haulv1.StageList{}, ns); n != 0 {
		t.Fatalf("%d stages left", n)
	}
}

func TestApplyWaitsForTheProjectNamespace(t *testing.T) {
	h := newHarness(t)
	y := pipelineYAML("ns-wait")
	path := writeFile(t, "p.yaml", y)
	_, _, err := h.run("apply", "-f", path, "--namespace-timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), `project "ns-wait": its namespace did not appear within 1s; is the Haul controller running?`) {
		t.Fatalf("got %v", err)
	}
	if n := countObjects(t, &haulv1.StageList{}, "ns-wait"); n != 0 {
		t.Fatalf("%d stages written", n)
	}
	// Once the namespace shows up (here: made by the test, as the controller would), apply completes.
	go func() {
		time.Sleep(time.Second)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-wait"}}
		_ = env.Client.Create(context.Background(), ns)
	}()
	out := h.mustRun("apply", "-f", path)
	if !strings.Contains(out, "project.haul.dev/ns-wait unchanged\nwarehouse.haul.dev/app created\n") {
		t.Fatalf("got:\n%s", out)
	}
	_ = env.Client.Delete(t.Context(), &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "ns-wait"}})
}

func TestCompletion(t *testing.T) {
	h := newHarness(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := h.mustRun("completion", sh); !strings.Contains(out, "haul") {
			t.Errorf("%s completion looks empty", sh)
		}
	}
}

func TestCompletionSuggestsNames(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "complete-demo")
	out := h.mustRun("-p", "complete-demo", "__complete", "get", "stage", "")
	if !strings.HasPrefix(out, "prod\ntest\nuat\n") {
		t.Fatalf("get stage <TAB>: %q", out)
	}
	out = h.mustRun("-p", "complete-demo", "__complete", "promote", "--warehouse", "")
	if !strings.HasPrefix(out, "app\n") {
		t.Fatalf("promote --warehouse <TAB>: %q", out)
	}
}
