package cli

import (
	"context"
	"strings"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/haul-dev/haul/controllers/project"
)

// TestApplyWithTheRealProjectController applies a new project and its pipeline in one go,
// with the real Project controller creating the namespace that apply waits for.
func TestApplyWithTheRealProjectController(t *testing.T) {
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
	out := h.mustRun("apply", "-f", writeFile(t, "p.yaml", pipelineYAML("fresh-project")), "--namespace-timeout", "60s")
	want := "project.haul.dev/fresh-project created\nwarehouse.haul.dev/app created\nstage.haul.dev/test created\nstage.haul.dev/uat created\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if got := h.mustRun("-p", "fresh-project", "get", "stages", "-o", "name"); !strings.Contains(got, "stage.haul.dev/uat") {
		t.Fatalf("get: %q", got)
	}
}
