package cli

import (
	"fmt"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func pipelineYAML(ns string) string {
	return fmt.Sprintf(`apiVersion: haul.dev/v1alpha1
kind: Project
metadata:
  name: %[1]s
---
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata:
  name: app
  namespace: %[1]s
spec:
  subscriptions:
  - image:
      repoURL: ghcr.io/acme/app
      constraint: ^1.0.0
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata:
  name: test
  namespace: %[1]s
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: https://git.example/acme/deploy.git
          checkout: [{branch: "stage/${{ ctx.stage }}", path: out}]
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata:
  name: uat
  namespace: %[1]s
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [test]}
`, ns)
}

func TestApplyRoundTripIsANoOp(t *testing.T) {
	h := newHarness(t)
	projectNamespace(t, "roundtrip")
	path := writeFile(t, "pipeline.yaml", pipelineYAML("roundtrip"))

	out := h.mustRun("apply", "-f", path)
	want := "project.haul.dev/roundtrip created\nwarehouse.haul.dev/app created\nstage.haul.dev/test created\nstage.haul.dev/uat created\n"
	if out != want {
		t.Fatalf("first apply:\n%s\nwant:\n%s", out, want)
	}
	out = h.mustRun("apply", "-f", path)
	if strings.Count(out, "unchanged") != 4 {
		t.Fatalf("second apply should change nothing:\n%s", out)
	}

	yaml := h.mustRun("-p", "roundtrip", "get", "stages", "-o", "yaml")
	out, errOut, err := h.runWithInput(yaml, "apply", "-f", "-")
	if err != nil {
		t.Fatalf("re-applying get -o yaml: %v\n%s", err, errOut)
	}
	if out != "stage.haul.dev/test unchanged\nstage.haul.dev/uat unchanged\n" {
		t.Fatalf("apply of get -o yaml output:\n%s", out)
	}
}

func TestApplyRejectsABadSetAndWritesNothing(t *testing.T) {
	h := newHarness(t)
	cases := map[string]struct {
		from, to string
		want     string
	}{
		"unknown field":         {"sources: {stages: [test]}", "sources: {stagess: [test]}", "pipeline.yaml#4): spec.requestedFreight[0].sources.stagess: unknown field"},
		"bad enum":              {"constraint: ^1.0.0", "constraint: ^1.0.0\n      imageSelectionStrategy: Newest", `imageSelectionStrategy: Unsupported value: "Newest"`},
		"bad semver constraint": {"constraint: ^1.0.0", "constraint: '>=1.x.y'", `spec.subscriptions[0].image.constraint: invalid semver constraint ">=1.x.y"`},
		"bad regex":             {"constraint: ^1.0.0", "constraint: ^1.0.0\n      ignoreTagsRegexes: ['(']", "ignoreTagsRegexes[0]: invalid regular expression"},
		"bad expression":        {"stage/${{ ctx.stage }}", "stage/${{ ctx.stage ++ }}", "checkout[0].branch: expression"},
		"stage cycle":           {"sources: {direct: true}", "sources: {stages: [uat]}", "stage cycle"},
		"unknown step":          {"uses: git-clone", "uses: git-clonez", `spec.promotionTemplate.spec.steps[0].uses: unknown step "git-clonez"`},
		"CEL rule (server dry run)": {"sources: {stages: [test]}", "sources: {stages: [test], autoPromotionOptions: {selectionPolicy: MatchUpstream}}\n  - origin: {kind: Warehouse, name: app}\n    sources: {direct: true}",
			"an origin may be requested at most once"},
	}
	i := 0
	for name, tc := range cases {
		i++
		t.Run(name, func(t *testing.T) {
			ns := fmt.Sprintf("bad-%d", i)
			projectNamespace(t, ns)
			y := pipelineYAML(ns)
			if !strings.Contains(y, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			path := writeFile(t, "pipeline.yaml", strings.Replace(y, tc.from, tc.to, 1))
			_, _, err := h.run("apply", "-f", path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was applied") {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
			if n := countObjects(t, &haulv1.StageList{}, ns); n != 0 {
				t.Fatalf("%d stages were written", n)
			}
			if n := countObjects(t, &haulv1.WarehouseList{}, ns); n != 0 {
				t.Fatalf("%d warehouses were written", n)
			}
			p := &haulv1.Project{}
			if err := env.Client.Get(t.Context(), objKey("", ns), p); err == nil {
				t.Fatalf("project %s was written", ns)
			}
		})
	}
}
