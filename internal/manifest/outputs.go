package manifest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// listedStep is what the outputs check knows of one step of a list.
type listedStep struct {
	index int
	uses  string
	// keys are the step's output keys; known is false when they cannot be told (a
	// task step, an unknown kind, outputs named by expressions).
	keys  []string
	known bool
}

// checkOutputRefs checks the constant references of a steps list's expressions (step
// configs, `if`, step vars) to step outputs, as the engine will resolve them: a
// reference to an earlier step must name one of its outputs, and one to a later step
// or to no step at all is refused. In a task (inTask) task.outputs are the task's own
// steps and outputs are the whole Promotion's, whose aliases the task cannot know; in
// a Stage template outputs are its steps, unless one expands a task (whose steps'
// aliases, <task>::<step>, come from the task).
func checkOutputRefs(path string, steps []haulv1.PromotionStep, outputsOf StepOutputsFunc, inTask bool) []string {
	if outputsOf == nil {
		return nil
	}
	byAlias := map[string]listedStep{}
	expandsTask := false
	configs := make([]any, len(steps))
	for i, s := range steps {
		if s.Config != nil && len(s.Config.Raw) > 0 {
			_ = json.Unmarshal(s.Config.Raw, &configs[i])
		}
		ls := listedStep{index: i, uses: s.Uses}
		if s.Task != nil {
			expandsTask = true
		} else {
			cfg, _ := configs[i].(map[string]any)
			ls.keys, ls.known = outputsOf(s.Uses, cfg)
		}
		alias := promotion.StepAlias(s, i)
		if _, dup := byAlias[alias]; !dup {
			byAlias[alias] = ls
		}
	}
	var out []string
	for i, s := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		problems := func(field, body string) (msgs []string) {
			for _, msg := range outputRefProblems(body, i, byAlias, inTask, expandsTask) {
				msgs = append(msgs, fmt.Sprintf("%s: expression %q: %s", field, Shorten(body, 80), msg))
			}
			return msgs
		}
		if s.If != "" {
			out = append(out, problems(p+".if", unwrapExpression(s.If))...)
		}
		for j, v := range s.Vars {
			forTemplate(v.Value, func(body string) { out = append(out, problems(fmt.Sprintf("%s.vars[%d].value", p, j), body)...) })
		}
		if configs[i] != nil {
			var msgs []string
			walkStrings(p+".config", configs[i], func(field, str string) {
				forTemplate(str, func(body string) { msgs = append(msgs, problems(field, body)...) })
			})
			sort.Strings(msgs)
			out = append(out, msgs...)
		}
	}
	return out
}

// forTemplate calls f with each expression of a template; one that does not parse is
// reported by the syntax check instead.
func forTemplate(s string, f func(body string)) {
	bodies, err := promotion.TemplateExpressions(s)
	if err != nil {
		return
	}
	for _, b := range bodies {
		f(b)
	}
}

// outputRefProblems checks the output references of one expression of step at.
func outputRefProblems(body string, at int, byAlias map[string]listedStep, inTask, expandsTask bool) []string {
	refs, err := promotion.OutputReferences(body)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range refs {
		if r.Task != inTask {
			// outputs inside a task, and task.outputs outside one, are not this
			// list's steps.
			continue
		}
		what := "outputs"
		if r.Task {
			what = "task.outputs"
		}
		s, ok := byAlias[r.Alias]
		switch {
		case !ok:
			if expandsTask {
				// The steps a task expands to are <task>::<step>, named by the task.
				continue
			}
			out = append(out, fmt.Sprintf("%s[%q]: no earlier step has alias %q", what, r.Alias, r.Alias))
		case s.index > at:
			out = append(out, fmt.Sprintf("%s[%q]: step %q is steps[%d], after this one (steps[%d]); a step sees only the outputs of the steps before it", what, r.Alias, r.Alias, s.index, at))
		case r.Key != "" && s.known && s.index != at && !slices.Contains(s.keys, r.Key):
			has := "it has no outputs"
			if len(s.keys) > 0 {
				has = "its outputs: " + strings.Join(s.keys, ", ")
			}
			out = append(out, fmt.Sprintf("%s[%q].%s: step %q (%s) has no output %q (%s)", what, r.Alias, r.Key, r.Alias, s.uses, r.Key, has))
		}
	}
	return out
}
