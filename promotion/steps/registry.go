package steps

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// defaultTimeouts are the steps with a timeout of their own, used when retry.timeout
// is unset: argocd-update and argocd-wait wait five minutes for Argo CD, as Kargo's.
var defaultTimeouts = map[string]time.Duration{
	"argocd-update": 5 * time.Minute,
	"argocd-wait":   5 * time.Minute,
}

// taskOutputSteps are the steps whose output inside a task is also the task step's
// (outputs.<task>.<key>), as Kargo's compose-output.
var taskOutputSteps = map[string]bool{"compose-output": true}

// builtin is the one list of Haul's built-in steps, by the name a step's `uses` gives.
var builtin = []struct {
	name string
	run  func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error)
	// outputs are the keys the step's Output may hold, for `haul apply`'s check of
	// outputs.<alias>.<key> references (TestEveryStepOutputIsListed keeps them true).
	outputs func(config map[string]any) ([]string, bool)
}{
	{"argocd-update", argoCDUpdate, noOutputs},
	{"argocd-wait", argoCDWait, noOutputs},
	{"compose-output", composeOutput, configKeys},
	{"copy", copyStep, noOutputs},
	{"delete", deleteStep, noOutputs},
	{"fail", fail, noOutputs},
	{"file-write", fileWrite, noOutputs},
	{"flux-reconcile", fluxReconcile, noOutputs},
	{"git-clear", gitClear, noOutputs},
	{"git-clone", gitClone, fixed("commits")},
	{"git-commit", gitCommit, fixed("commit")},
	{"git-merge-pr", gitMergePR, fixed("commit", "pr")},
	{"git-open-pr", gitOpenPR, fixed("pr", "prNumber")},
	{"git-push", gitPush, fixed("commit", "branch", "commitURL")},
	{"git-tag", gitTag, fixed("commit")},
	{"git-wait-for-pr", gitWaitForPR, fixed("pr", "commit")},
	{"github-push", githubPush, fixed("commit", "branch", "commitURL")},
	{"helm-template", helmTemplate, noOutputs},
	{"helm-update-chart", helmUpdateChart, fixed("charts", "commitMessage")},
	{"http", httpStep, namedOutputs},
	{"http-download", httpDownload, noOutputs},
	{"job", jobStep, fixed("name", "namespace")},
	{"json-parse", jsonParse, namedOutputs},
	{"json-update", jsonUpdate, fixed("commitMessage")},
	{"kustomize-build", kustomizeBuild, noOutputs},
	{"kustomize-set-image", kustomizeSetImage, fixed("images", "commitMessage")},
	{"oci-download", ociDownload, noOutputs},
	{"oci-push", ociPush, fixed("image", "digest", "tag")},
	{"send-message", sendMessage, fixed("slack")},
	{"set-freight-alias", setFreightAlias, noOutputs},
	{"set-metadata", setMetadata, noOutputs},
	{"tar", tarStep, noOutputs},
	{"toml-parse", tomlParse, namedOutputs},
	{"toml-update", tomlUpdate, fixed("commitMessage")},
	{"untar", untar, noOutputs},
	{"wait-for-approval", waitForApproval, fixed("responses")},
	{"yaml-merge", yamlMerge, fixed("commitMessage")},
	{"yaml-parse", yamlParse, namedOutputs},
	{"yaml-update", yamlUpdate, fixed("commitMessage")},
}

// Builtin returns a new registry holding every built-in step. Callers may add their own
// steps to it before handing it to an Engine.
func Builtin() *promotion.Registry {
	r := promotion.NewRegistry()
	for _, s := range builtin {
		step := builtinStep{run: s.run, timeout: defaultTimeouts[s.name], outputs: s.outputs, propagate: taskOutputSteps[s.name]}
		r.Register(s.name, func() promotion.Step { return step })
	}
	return r
}

// builtinStep is a built-in step with its default timeout (0: none) and output keys.
type builtinStep struct {
	run     func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error)
	timeout time.Duration
	outputs func(config map[string]any) ([]string, bool)
	// propagate says the step's output inside a task is also the task step's.
	propagate bool
}

// PropagatesTaskOutput says whether the step's output inside a task is also the task
// step's (taskOutputSteps).
func (s builtinStep) PropagatesTaskOutput() bool { return s.propagate }

func (s builtinStep) Run(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	return s.run(ctx, sc)
}

// DefaultTimeout is the step's own timeout; 0 means none.
func (s builtinStep) DefaultTimeout() time.Duration { return s.timeout }

// OutputKeys implements promotion.OutputKeyer.
func (s builtinStep) OutputKeys(config map[string]any) ([]string, bool) { return s.outputs(config) }

// noOutputs is the outputs of a step that outputs nothing.
func noOutputs(map[string]any) ([]string, bool) { return nil, true }

// fixed is the outputs of a step whose output keys do not depend on its config.
func fixed(keys ...string) func(map[string]any) ([]string, bool) {
	return func(map[string]any) ([]string, bool) { return keys, true }
}

// configKeys is compose-output's outputs: its config's keys.
func configKeys(config map[string]any) ([]string, bool) {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, true
}

// namedOutputs is the outputs of http and the parse steps: their outputs[].name.
// Unknown when the list or a name is an expression.
func namedOutputs(config map[string]any) ([]string, bool) {
	raw, present := config["outputs"]
	if !present {
		return nil, true
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	keys := make([]string, 0, len(list))
	for _, o := range list {
		m, _ := o.(map[string]any)
		name, ok := m["name"].(string)
		if !ok || strings.Contains(name, "${{") {
			return nil, false
		}
		keys = append(keys, name)
	}
	return keys, true
}
