package manifest

import (
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion/steps"
)

// withOutputs is a Cluster that knows the built-in steps and their outputs.
func withOutputs() Cluster {
	reg := steps.Builtin()
	return Cluster{Steps: reg.Names(), StepOutputs: reg.OutputKeys}
}

const outputsTask = `
apiVersion: haul.dev/v1alpha1
kind: PromotionTask
metadata: {name: update, namespace: demo}
spec:
  steps:
  - uses: git-clone
    config:
      repoURL: https://git.example/acme/deploy.git
      checkout: [{branch: main, path: out}]
  - uses: kustomize-set-image
    as: update-image
    config: {path: out, images: [{image: ghcr.io/acme/app}]}
  - uses: git-commit
    as: commit
    config:
      path: out
      message: %s
  - uses: compose-output
    as: result
    config: {sha: "${{ task.outputs.commit.commit }}"}
  - uses: http
    as: notify
    config:
      url: https://hooks.example/x
      outputs: [{name: status, fromExpression: response.status}]
  - uses: git-push
    if: %s
    config: {path: out}
`

func taskWith(message, cond string) string {
	return strings.Replace(strings.Replace(outputsTask, "%s", message, 1), "%s", cond, 1)
}

func TestApplyAcceptsReferencesToRealStepOutputs(t *testing.T) {
	cases := map[string]struct{ message, cond string }{
		"bracket form":                          {`"${{ task.outputs['update-image'].commitMessage }}"`, `"${{ true }}"`},
		"dot form":                              {`"${{ task.outputs['update-image'].images }}"`, `"${{ task.outputs.commit.commit != '' }}"`},
		"mixed bracket and dot":                 {`"${{ task.outputs['update-image']['commitMessage'] }}"`, `"${{ task.outputs.result.sha != '' }}"`},
		"default alias step-1":                  {`"${{ task.outputs['step-1'].commits }}"`, `"${{ true }}"`},
		"http outputs[].name":                   {`"x"`, `"${{ task.outputs.notify.status == 200 }}"`},
		"whole output of a step":                {`"${{ task.outputs['update-image'] }}"`, `"${{ task.outputs.commit != nil }}"`},
		"computed alias is not checked":         {`"${{ task.outputs[vars.step].anything }}"`, `"${{ true }}"`},
		"outputs in a task are the Promotion's": {`"${{ outputs['other::x'].y }}"`, `"${{ true }}"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Validate(load(t, taskWith(c.message, c.cond)), withOutputs()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestApplyRefusesReferencesToOutputsNoStepHas(t *testing.T) {
	cases := map[string]struct {
		message, cond, want string
	}{
		"unknown key of an earlier step": {`"${{ task.outputs['update-image'].message }}"`, `"${{ true }}"`,
			`promotiontask.haul.dev/update (test.yaml#1): spec.steps[2].config.message: expression "task.outputs['update-image'].message": task.outputs["update-image"].message: step "update-image" (kustomize-set-image) has no output "message" (its outputs: images, commitMessage)`},
		"key of a step without outputs in if": {`"m"`, `"${{ task.outputs.commit.sha == '' }}"`,
			`spec.steps[5].if: expression "task.outputs.commit.sha == ''": task.outputs["commit"].sha: step "commit" (git-commit) has no output "sha" (its outputs: commit)`},
		"unknown compose-output key": {`"m"`, `"${{ task.outputs.result.commit }}"`,
			`step "result" (compose-output) has no output "commit" (its outputs: sha)`},
		"unknown http output": {`"m"`, `"${{ task.outputs.notify.code }}"`,
			`step "notify" (http) has no output "code" (its outputs: status)`},
		"no such alias": {`"${{ task.outputs['update-images'].commitMessage }}"`, `"${{ true }}"`,
			`spec.steps[2].config.message: expression "task.outputs['update-images'].commitMessage": task.outputs["update-images"]: no earlier step has alias "update-images"`},
		"a later step": {`"${{ task.outputs.notify.status }}"`, `"${{ true }}"`,
			`task.outputs["notify"]: step "notify" is steps[4], after this one (steps[2]); a step sees only the outputs of the steps before it`},
		"optional chaining": {`"m"`, `"${{ task.outputs?.commit?.sha }}"`,
			`spec.steps[5].if: expression "task.outputs?.commit?.sha": task.outputs["commit"].sha: step "commit" (git-commit) has no output "sha"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Validate(load(t, taskWith(c.message, c.cond)), withOutputs())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

const outputsStage = `
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
          checkout: [{branch: main, path: out}]
%s
      - uses: git-push
        as: push
        config: {path: out, targetBranch: "%s"}
      - uses: compose-output
        vars: [{name: url, value: "%s"}]
        config: {url: "${{ vars.url }}"}
`

func stageWith(extra, branch, varValue string) string {
	s := strings.Replace(outputsStage, "%s", extra, 1)
	s = strings.Replace(s, "%s", branch, 1)
	return strings.Replace(s, "%s", varValue, 1)
}

func TestApplyChecksOutputsOfAStageTemplate(t *testing.T) {
	task := "      - task: {name: update}\n        as: update"
	cases := map[string]struct {
		extra, branch, varValue, want string
	}{
		"accepted":                                    {"", "main", "${{ outputs.push.commitURL }}", ""},
		"a task step's alias is not checked":          {task, "${{ outputs.update.commit }}", "${{ outputs['update::commit'].commit }}", ""},
		"an expanded task step hides unknown aliases": {task, "main", "${{ outputs.nope.x }}", ""},
		"unknown key in a var": {"", "main", "${{ outputs.push.url }}",
			`stage.haul.dev/test (test.yaml#1): spec.promotionTemplate.spec.steps[2].vars[0].value: expression "outputs.push.url": outputs["push"].url: step "push" (git-push) has no output "url" (its outputs: commit, branch, commitURL)`},
		"unknown key of git-clone": {"", "${{ outputs.clone.branch }}", "x",
			`spec.promotionTemplate.spec.steps[1].config.targetBranch: expression "outputs.clone.branch": outputs["clone"].branch: step "clone" (git-clone) has no output "branch" (its outputs: commits)`},
		"no such alias without tasks": {"", "${{ outputs.update.commit }}", "x",
			`outputs["update"]: no earlier step has alias "update"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Validate(load(t, stageWith(c.extra, c.branch, c.varValue)), withOutputs())
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestApplyRefusesAReferenceToALaterStageStep(t *testing.T) {
	y := strings.Replace(stageWith("", "main", "x"), `checkout: [{branch: main, path: out}]`, `checkout: [{branch: "${{ outputs.push.branch }}", path: out}]`, 1)
	_, err := Validate(load(t, y), withOutputs())
	want := `spec.promotionTemplate.spec.steps[0].config.checkout[0].branch: expression "outputs.push.branch": outputs["push"]: step "push" is steps[1], after this one (steps[0])`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
