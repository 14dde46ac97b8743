package promotion

import (
	"context"
	"fmt"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TaskGetter fetches the spec of a PromotionTask (in the project namespace) or a
// ClusterPromotionTask.
type TaskGetter func(ctx context.Context, kind haulv1.PromotionTaskKind, name string) (*haulv1.PromotionTaskSpec, error)

// ExpandTasks replaces every `task` step with the task's steps. A step inside a task gets
// the alias "<taskAlias>::<stepAlias>" and, as vars, the task's defaults (unless the
// Promotion-level vars named in globals set them), then the task step's vars, then its
// own. Tasks cannot reference tasks.
func ExpandTasks(ctx context.Context, steps []haulv1.PromotionStep, globals []haulv1.Var, get TaskGetter) ([]haulv1.PromotionStep, error) {
	global := map[string]bool{}
	for _, v := range globals {
		global[v.Name] = true
	}
	var out []haulv1.PromotionStep
	seen := map[string]bool{}
	add := func(s haulv1.PromotionStep) error {
		if seen[s.As] {
			return fmt.Errorf("steps: alias %q is used twice", s.As)
		}
		seen[s.As] = true
		out = append(out, s)
		return nil
	}
	for i, step := range steps {
		alias := StepAlias(step, i)
		if step.Task == nil {
			s := *step.DeepCopy()
			s.As = alias
			if err := add(s); err != nil {
				return nil, err
			}
			continue
		}
		kind := step.Task.Kind
		if kind == "" {
			kind = haulv1.PromotionTaskKindNamespaced
		}
		if get == nil {
			return nil, fmt.Errorf("steps[%d]: task %s %q cannot be resolved here", i, kind, step.Task.Name)
		}
		spec, err := get(ctx, kind, step.Task.Name)
		if err != nil {
			return nil, fmt.Errorf("steps[%d]: task %s %q: %w", i, kind, step.Task.Name, err)
		}
		for j, inner := range spec.Steps {
			if inner.Task != nil {
				return nil, fmt.Errorf("steps[%d]: task %s %q: step %d references another task, which is not allowed", i, kind, step.Task.Name, j)
			}
			s := *inner.DeepCopy()
			s.As = alias + TaskSeparator + StepAlias(inner, j)
			var vars []haulv1.Var
			for _, v := range spec.Vars {
				if !global[v.Name] {
					vars = append(vars, v)
				}
			}
			vars = append(vars, step.Vars...)
			s.Vars = append(vars, inner.Vars...)
			if s.If == "" {
				s.If = step.If
			}
			s.ContinueOnError = s.ContinueOnError || step.ContinueOnError
			if err := add(s); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// MergeVars merges var lists; later lists override earlier ones, order of first
// appearance kept.
func MergeVars(lists ...[]haulv1.Var) []haulv1.Var {
	idx := map[string]int{}
	var out []haulv1.Var
	for _, l := range lists {
		for _, v := range l {
			if i, ok := idx[v.Name]; ok {
				out[i] = v
				continue
			}
			idx[v.Name] = len(out)
			out = append(out, v)
		}
	}
	return out
}
