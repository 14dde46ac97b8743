package promotion

import (
	"context"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// RequestEnv returns the environment an expression outside any step sees for req:
// ctx (project, stage, promotion, targetFreight), vars (req.Vars evaluated in order)
// and the functions (imageFrom, commitFrom, sharedConfigMap, ...), with no step
// outputs. Verification uses it for the args it hands to Argo Rollouts.
func (e *Engine) RequestEnv(ctx context.Context, req Request) (Env, error) {
	req.Steps = []haulv1.PromotionStep{{}}
	st := &State{Steps: []haulv1.StepExecutionMetadata{{}}, Outputs: map[string]any{}}
	return e.env(ctx, &req, st, 0)
}

// EvalString evaluates a template such as an AnalysisRun argument and requires a
// string result, as Kargo does for verification args.
func (e *Engine) EvalString(s string, env Env) (string, bool, error) {
	v, err := e.evaluator().EvalTemplate(s, env)
	if err != nil {
		return "", false, err
	}
	str, ok := v.(string)
	return str, ok, nil
}
