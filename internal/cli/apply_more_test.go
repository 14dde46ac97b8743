package cli

import (
	"strings"
	"testing"
)

func TestApplyRejectsACycleThroughStagesAlreadyInTheCluster(t *testing.T) {
	h := newHarness(t)
	ns := "cycle-cluster"
	projectNamespace(t, ns)
	h.mustRun("apply", "-f", writeFile(t, "p.yaml", pipelineYAML(ns)))

	// test now takes from uat, which already takes from test.
	edit := `apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: test}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [uat]}
`
	_, _, err := h.run("-p", ns, "apply", "-f", writeFile(t, "edit.yaml", edit))
	if err == nil || !strings.Contains(err.Error(), "stage cycle test → uat → test") {
		t.Fatalf("got %v", err)
	}
	out := h.mustRun("-p", ns, "get", "stage", "test", "-o", "yaml")
	if !strings.Contains(out, "direct: true") {
		t.Fatalf("stored stage was changed:\n%s", out)
	}
}

func TestApplyWarnsAboutStagesThatMayArriveLater(t *testing.T) {
	h := newHarness(t)
	ns := "warn-later"
	projectNamespace(t, ns)
	y := `apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: prod}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [uat]}
`
	out, errOut, err := h.run("-p", ns, "apply", "-f", writeFile(t, "s.yaml", y))
	if err != nil {
		t.Fatal(err)
	}
	if out != "stage.haul.dev/prod created\n" {
		t.Errorf("stdout %q", out)
	}
	for _, w := range []string{
		`warning: stage.haul.dev/prod: spec.requestedFreight[0].sources.stages: stage "uat" does not exist in project "warn-later" (yet)`,
		`warning: stage.haul.dev/prod: spec.requestedFreight[0].origin: warehouse "app" does not exist in project "warn-later" (yet)`,
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

func TestApplyReportsServerValidationWithTheField(t *testing.T) {
	h := newHarness(t)
	ns := "server-invalid"
	projectNamespace(t, ns)
	// Freight without artifacts breaks a CEL rule only the server evaluates, so this is
	// caught by the dry run.
	y := `apiVersion: haul.dev/v1alpha1
kind: Freight
metadata: {name: empty}
origin: {kind: Warehouse, name: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
`
	_, _, err := h.run("-p", ns, "apply", "-f", writeFile(t, "c.yaml", y))
	want := `nothing was applied: freight.haul.dev/empty (`
	if err == nil || !strings.Contains(err.Error(), want) ||
		!strings.HasSuffix(err.Error(), `: freight "empty" is invalid: Freight must hold at least one of images, commits or charts`) {
		t.Fatalf("got %v", err)
	}
	if _, _, err := h.run("-p", ns, "get", "configmaps"); err == nil {
		t.Fatal("configmaps are not a haul type")
	}
}

func TestApplyNeedsAProjectForNamespacedObjects(t *testing.T) {
	h := newHarness(t)
	y := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
	_, _, err := h.run("apply", "-f", writeFile(t, "c.yaml", y))
	if err == nil || !strings.Contains(err.Error(), "configmap/settings (") || !strings.Contains(err.Error(), "has no metadata.namespace: no project") {
		t.Fatalf("got %v", err)
	}
	_, _, err = h.run("-p", "nowhere", "apply", "-f", writeFile(t, "c.yaml", y))
	if err == nil || !strings.Contains(err.Error(), `project "nowhere" does not exist`) {
		t.Fatalf("got %v", err)
	}
}

func TestApplyDryRunWritesNothing(t *testing.T) {
	h := newHarness(t)
	ns := "dry-run"
	projectNamespace(t, ns)
	out := h.mustRun("apply", "--dry-run", "-f", writeFile(t, "p.yaml", pipelineYAML(ns)))
	if !strings.Contains(out, "project.haul.dev/dry-run created (dry run)\nwarehouse.haul.dev/app created (dry run)\n") {
		t.Fatalf("got %q", out)
	}
	if _, _, err := h.run("-p", ns, "get", "stage", "uat"); err == nil {
		t.Fatal("dry run wrote the stage")
	}
}
