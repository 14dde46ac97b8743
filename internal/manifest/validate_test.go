package manifest

import (
	"strings"
	"testing"
)

const goodSet = `
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  subscriptions:
  - image: {repoURL: ghcr.io/acme/app, constraint: ^1.0.0, allowTagsRegexes: ["^v?1\\."]}
  - git: {repoURL: https://git.example/acme/app.git, expressionFilter: "subject contains 'release'"}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: test, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        as: clone
        config:
          repoURL: https://git.example/acme/deploy.git
          checkout: [{branch: "stage/${{ ctx.stage }}", path: out}]
      - uses: git-push
        if: ${{ success() }}
        config: {path: out, targetBranch: "${{ 'stage/' + ctx.stage }}"}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: uat, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [test]}
`

func load(t *testing.T, y string) []Document {
	t.Helper()
	docs, err := parseAndConvert("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestValidateAcceptsAGoodSet(t *testing.T) {
	warnings, err := Validate(load(t, goodSet), Cluster{})
	if err != nil {
		t.Fatalf("good set rejected: %v", err)
	}
	if len(warnings) != 0 {
		t.Fatalf("unexpected warnings: %v", warnings)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]struct {
		from, to string
		want     string
	}{
		"unknown field with its path": {"sources: {stages: [test]}", "sources: {stagess: [test]}", "spec.requestedFreight[0].sources.stagess: unknown field"},
		"bad enum":                    {"constraint: ^1.0.0,", "constraint: ^1.0.0, imageSelectionStrategy: Newest,", `spec.subscriptions[0].image.imageSelectionStrategy: Unsupported value: "Newest"`},
		"bad semver constraint":       {"constraint: ^1.0.0", "constraint: '>=1.x.y'", `spec.subscriptions[0].image.constraint: invalid semver constraint ">=1.x.y"`},
		"bad regex":                   {`allowTagsRegexes: ["^v?1\\."]`, `allowTagsRegexes: ["^(v"]`, "spec.subscriptions[0].image.allowTagsRegexes[0]: invalid regular expression"},
		"expression filter":           {"subject contains 'release'", "subject contains (", "spec.subscriptions[1].git.expressionFilter: expression"},
		"step config expression":      {"stage/${{ ctx.stage }}", "stage/${{ ctx.stage + }}", "spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: expression"},
		"step if":                     {"${{ success() }}", "${{ success( }}", "spec.promotionTemplate.spec.steps[1].if: expression"},
		// Type checking (promotion.CheckExpression): what parses but cannot run.
		"unknown function in a step config":  {"stage/${{ ctx.stage }}", "stage/${{ imageFromm('x').Tag }}", `stage.haul.dev/test (test.yaml#2): spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: expression "imageFromm('x').Tag": unknown name imageFromm`},
		"unknown ctx field in a step config": {"stage/${{ ctx.stage }}", "stage/${{ ctx.stagee }}", `spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: expression "ctx.stagee": type promotion.checkCtxType has no field stagee`},
		"unknown artifact field":             {"${{ 'stage/' + ctx.stage }}", "${{ commitFrom('https://g/x.git').Sha }}", `spec.promotionTemplate.spec.steps[1].config.targetBranch: expression "commitFrom('https://g/x.git').Sha"`},
		"wrong argument count in an if":      {"${{ success() }}", "${{ status() == 'Failed' }}", `spec.promotionTemplate.spec.steps[1].if: expression "status() == 'Failed'": not enough arguments to call status`},
		"bound with a clean path":            {"constraint: ^1.0.0,", "constraint: ^1.0.0, discoveryLimit: 500,", "test.yaml#1): spec.subscriptions[0].image.discoveryLimit: Invalid value: 500: should be less than or equal to 100"},
		"self cycle":                         {"sources: {direct: true}", "sources: {stages: [test]}", "stage cycle test → test"},
		// What discovery would refuse only later: a variable the commit selection
		// strategy does not give, a field no artifact has, a function discovery lacks.
		"filter variable of another strategy": {"expressionFilter: \"subject contains 'release'\"}", "expressionFilter: \"tag matches '^v'\"}", `spec.subscriptions[1].git.expressionFilter: expression "tag matches '^v'": unknown name tag`},
		"filter over tags":                    {"expressionFilter: \"subject contains 'release'\"}", "commitSelectionStrategy: NewestTag, expressionFilter: \"subject contains 'release'\"}", `spec.subscriptions[1].git.expressionFilter: expression "subject contains 'release'": unknown name subject`},
		"unknown function between ${% %}":     {"stage/${{ ctx.stage }}", "stage/${% imageFromm('x').Tag %}", `spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: expression "imageFromm('x').Tag": unknown name imageFromm`},
		"unterminated ${%":                    {"stage/${{ ctx.stage }}", "stage/${% ctx.stage", `spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: unterminated expression: expected "%}"`},
		"criteria field no image has": {"spec:\n  subscriptions:\n  - image", "spec:\n  freightCreationCriteria: {expression: \"imageFrom('ghcr.io/acme/app').Tagg == '1'\"}\n  subscriptions:\n  - image",
			`spec.freightCreationCriteria.expression: expression "imageFrom('ghcr.io/acme/app').Tagg == '1'": type warehouse.criteriaImage has no field Tagg`},
		"criteria function discovery lacks": {"spec:\n  subscriptions:\n  - image", "spec:\n  freightCreationCriteria: {expression: \"warehouse('app').Name == 'app'\"}\n  subscriptions:\n  - image",
			`spec.freightCreationCriteria.expression: expression "warehouse('app').Name == 'app'": unknown name warehouse`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(goodSet, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			_, err := Validate(load(t, strings.Replace(goodSet, tc.from, tc.to, 1)), Cluster{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestValidateRejectsUnknownSteps(t *testing.T) {
	_, err := Validate(load(t, goodSet), Cluster{Steps: []string{"git-clone", "git-commit"}})
	if err == nil || !strings.Contains(err.Error(), `spec.promotionTemplate.spec.steps[1].uses: unknown step "git-push" (known: git-clone, git-commit)`) {
		t.Fatalf("got %v", err)
	}
	if _, err := Validate(load(t, goodSet), Cluster{Steps: []string{"git-clone", "git-push"}}); err != nil {
		t.Fatal(err)
	}
}

func TestValidateWarnsAboutMissingTasks(t *testing.T) {
	y := strings.Replace(goodSet, "      - uses: git-push\n", "      - task: {name: push}\n", 1)
	warnings, err := Validate(load(t, y), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	want := `stage.haul.dev/test: spec.promotionTemplate.spec.steps[1].task: PromotionTask "push" does not exist in project "demo" (yet)`
	if len(warnings) != 1 || warnings[0] != want {
		t.Fatalf("warnings = %v", warnings)
	}
	warnings, _ = Validate(load(t, y), Cluster{PromotionTasks: map[string]map[string]bool{"demo": {"push": true}}})
	if len(warnings) != 0 {
		t.Fatalf("warnings = %v", warnings)
	}
}

func TestValidateWarnsAboutMissingReferences(t *testing.T) {
	y := strings.Replace(goodSet, "stages: [test]", "stages: [tset]", 1)
	warnings, err := Validate(load(t, y), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `stage "tset" does not exist in project "demo"`) {
		t.Fatalf("warnings = %v", warnings)
	}
}

// TestPercentDelimitersCarryBraces: ${% %} exists for expressions that hold "}}"
// (nested map literals); such an expression is checked and accepted.
func TestPercentDelimitersCarryBraces(t *testing.T) {
	y := strings.Replace(goodSet, "stage/${{ ctx.stage }}", `stage/${% {'a': {'b': ctx.stage}}.a.b %}`, 1)
	if y == goodSet {
		t.Fatal("fixture lacks the branch expression")
	}
	if _, err := Validate(load(t, y), Cluster{}); err != nil {
		t.Fatalf("a ${%% %%} expression holding }}: %v", err)
	}
}
