package cli

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestKargoQuickstartConvertsToTheHandWrittenHaulPipeline applies a Kargo quickstart-style
// set, then applies the same pipeline written for Haul by hand: every object of the
// latter must be unchanged, i.e. conversion produced exactly the hand-written objects.
func TestKargoQuickstartConvertsToTheHandWrittenHaulPipeline(t *testing.T) {
	h := newHarness(t)
	projectNamespace(t, "kargo-demo")

	out, errOut, err := h.run("apply", "-f", "testdata/kargo-quickstart.yaml")
	if err != nil {
		t.Fatalf("applying the Kargo set: %v\n%s", err, errOut)
	}
	for _, line := range []string{
		"project.haul.dev/kargo-demo created (converted from kargo.akuity.io/v1alpha1)",
		"projectconfig.haul.dev/kargo-demo created (converted from kargo.akuity.io/v1alpha1)",
		"secret/kargo-demo-repo created (kargo.akuity.io labels/annotations renamed)",
		"warehouse.haul.dev/kargo-demo created (converted from kargo.akuity.io/v1alpha1)",
		"stage.haul.dev/test created (converted from kargo.akuity.io/v1alpha1)",
		"stage.haul.dev/uat created (converted from kargo.akuity.io/v1alpha1)",
		"stage.haul.dev/prod created (converted from kargo.akuity.io/v1alpha1)",
		"promotiontask.haul.dev/promote created (converted from kargo.akuity.io/v1alpha1)",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}

	out = h.mustRun("apply", "-f", "testdata/haul-quickstart.yaml")
	if n := strings.Count(out, " unchanged\n"); n != 8 || strings.Contains(out, "configured") {
		t.Fatalf("the hand-written Haul pipeline should match the converted one exactly:\n%s", out)
	}

	secret := &corev1.Secret{}
	if err := env.Client.Get(t.Context(), objKey("kargo-demo", "kargo-demo-repo"), secret); err != nil {
		t.Fatal(err)
	}
	if secret.Labels[haulv1.LabelCredType] != "git" || len(secret.Labels) != 1 {
		t.Fatalf("secret labels = %v", secret.Labels)
	}
	prod := &haulv1.Stage{}
	if err := env.Client.Get(t.Context(), objKey("kargo-demo", "prod"), prod); err != nil {
		t.Fatal(err)
	}
	if got := prod.Spec.RequestedFreight[0]; got.Origin.Name != "kargo-demo" || got.Sources.Stages[0] != "uat" {
		t.Fatalf("older subscriptions form converted to %+v", got)
	}
}

func TestKargoUnknownFieldIsRejectedWithItsPath(t *testing.T) {
	h := newHarness(t)
	projectNamespace(t, "kargo-bad")
	y := `apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: kargo-bad}
spec:
  subscriptions:
  - image: {repoURL: nginx, semverConstraint: ^1.0.0, colour: blue}
`
	_, _, err := h.run("apply", "-f", writeFile(t, "w.yaml", y))
	if err == nil || !strings.Contains(err.Error(), "spec.subscriptions[0].image.colour: unknown field") {
		t.Fatalf("want spec.subscriptions[0].image.colour rejected, got %v", err)
	}
	if n := countObjects(t, &haulv1.WarehouseList{}, "kargo-bad"); n != 0 {
		t.Fatalf("%d warehouses written", n)
	}
}

// TestKargoShardBecomesTheShardLabel: Kargo's spec.shard selects a controller shard;
// in Haul that is the haul.dev/shard label.
func TestKargoShardBecomesTheShardLabel(t *testing.T) {
	h := newHarness(t)
	projectNamespace(t, "kargo-shard")
	y := `apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: kargo-shard}
spec:
  shard: east
  subscriptions:
  - image: {repoURL: nginx, semverConstraint: ^1.0.0}
`
	h.mustRun("apply", "-f", writeFile(t, "w.yaml", y))
	w := &haulv1.Warehouse{}
	if err := env.Client.Get(t.Context(), objKey("kargo-shard", "app"), w); err != nil {
		t.Fatal(err)
	}
	if w.Labels["haul.dev/shard"] != "east" {
		t.Fatalf("labels %v, want haul.dev/shard=east", w.Labels)
	}
}
