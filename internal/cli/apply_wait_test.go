package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/haul-dev/haul/controllers/project"
)

// splitPipeline returns pipelineYAML(ns) as two files: the Project alone, then the rest.
func splitPipeline(t *testing.T, ns string) (string, string) {
	t.Helper()
	all := pipelineYAML(ns)
	i := strings.Index(all, "---\n")
	return writeFile(t, "project.yaml", all[:i]), writeFile(t, "stages.yaml", all[i+4:])
}

// TestApplyProjectThenStagesWaitsForTheNamespace is issue 14 item 7: `haul apply -f
// project.yaml` followed at once by `haul apply -f stages.yaml`, with the real Project
// controller creating the namespace. The second apply waits for it, saying so, instead
// of failing "project does not exist".
func TestApplyProjectThenStagesWaitsForTheNamespace(t *testing.T) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     env.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := project.SetupWithManager(mgr, project.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	h := newHarness(t)
	projectFile, stagesFile := splitPipeline(t, "two-step")
	if out := h.mustRun("apply", "-f", projectFile); out != "project.haul.dev/two-step created\n" {
		t.Fatalf("project apply: %q", out)
	}
	out, errOut, err := h.run("apply", "-f", stagesFile, "--namespace-timeout", "60s")
	if err != nil {
		t.Fatalf("stages apply: %v\nstderr: %s", err, errOut)
	}
	want := "warehouse.haul.dev/app created\nstage.haul.dev/test created\nstage.haul.dev/uat created\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if got := h.mustRun("-p", "two-step", "get", "stages", "-o", "name"); !strings.Contains(got, "stage.haul.dev/uat") {
		t.Fatalf("get: %q", got)
	}
}

// TestApplyWaitsForANamespaceThatAppearsLate has a Project whose namespace is created
// two seconds after the second apply starts (no controller runs: the test plays its part).
// The apply says it waits, then succeeds. With a shorter bound it fails naming the
// project and the bound, and writes nothing.
func TestApplyWaitsForANamespaceThatAppearsLate(t *testing.T) {
	h := newHarness(t)
	projectFile, stagesFile := splitPipeline(t, "late-ns")
	h.mustRun("apply", "-f", projectFile)

	_, errOut, err := h.run("apply", "-f", stagesFile, "--namespace-timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), `project "late-ns": its namespace did not appear within 1s`) ||
		!strings.Contains(err.Error(), "nothing was applied") {
		t.Fatalf("bounded wait: got %v", err)
	}
	if !strings.Contains(errOut, `waiting up to 1s for the namespace of project "late-ns"`) {
		t.Fatalf("no waiting message: %q", errOut)
	}

	c, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(2 * time.Second)
		_ = c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "late-ns"}})
	}()
	start := time.Now()
	out, errOut, err := h.run("apply", "-f", stagesFile, "--namespace-timeout", "60s")
	if err != nil {
		t.Fatalf("stages apply: %v\nstderr: %s", err, errOut)
	}
	if time.Since(start) < 2*time.Second {
		t.Fatalf("apply returned before the namespace existed")
	}
	if !strings.Contains(errOut, `waiting up to 1m0s for the namespace of project "late-ns"`) || !strings.Contains(out, "stage.haul.dev/uat created") {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
}

// TestApplyWithoutTheProjectStillFails: the wait is only for Projects that exist; a
// namespace nobody will create fails at once, as before.
func TestApplyWithoutTheProjectStillFails(t *testing.T) {
	h := newHarness(t)
	_, stagesFile := splitPipeline(t, "never-made")
	start := time.Now()
	_, _, err := h.run("apply", "-f", stagesFile, "--namespace-timeout", "60s")
	if err == nil || !strings.Contains(err.Error(), `project "never-made" does not exist`) {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("waited %s for a project that does not exist", time.Since(start))
	}
}
