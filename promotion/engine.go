package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TaskSeparator joins a task step's alias and the alias of a step inside the task.
const TaskSeparator = "::"

// Engine runs lists of steps.
type Engine struct {
	// Registry holds the steps this engine runs (steps.Builtin for Haul's own);
	// without one every step is unknown.
	Registry *Registry
	// Services are handed to every step.
	Services *Services
	// Evaluator defaults to a shared one.
	Evaluator *Evaluator
	// StepDone, when set, is told how each step run went and how long it took (for
	// metrics); status is the step's status after the run.
	StepDone func(uses string, status haulv1.StepStatus, took time.Duration)
}

// Request is one invocation of the engine for one Promotion (or verification run).
type Request struct {
	Project   string
	Stage     string
	Promotion string
	Freight   haulv1.FreightReference
	// Actor is who asked for the Promotion (its haul.dev/create-actor annotation);
	// expressions see it as ctx.meta.promotion.actor.
	Actor string
	// Rollback says the Promotion is an automatic rollback (see IsRollback);
	// expressions see it as ctx.meta.promotion.rollback.
	Rollback bool
	// Steps are the steps to run, tasks already expanded (see ExpandTasks).
	Steps []haulv1.PromotionStep
	// Vars are the merged Promotion-level vars (stage template vars < promotion vars).
	Vars []haulv1.Var
	// WorkDir must exist; every step path is relative to it.
	WorkDir string
	// State is where the previous invocation stopped (zero value to start).
	State State
	// Replay re-runs every step from the first one, keeping outputs, because the work
	// dir was lost (a crash). Steps are idempotent, so this converges.
	Replay bool
	// Persist is called with the new State after every step. An error stops the run,
	// which returns with Err set and the State as persisted before.
	Persist func(ctx context.Context, s State) error
	// Aborted is checked before every step and after a step reports Running.
	Aborted func(ctx context.Context) bool
	// Abort, when set, is closed to stop the run at once: the running step's context
	// is cancelled (cause ErrAborted), the step is recorded Aborted and Run returns
	// phase Aborted. Aborted only catches an abort between steps.
	Abort <-chan struct{}
	// Secrets masks secret values in everything the run hands back (messages, the
	// State given to Persist and returned) and keeps the real values of masked outputs
	// between Runs. Pass the same one to every Run of a Promotion; nil starts empty,
	// as after a restart (see Secrets).
	Secrets *Secrets

	// services are what this run hands to steps (see Services.forRun).
	services *Services
}

// Result is where a run stopped.
type Result struct {
	// Phase is Running when the caller should call Run again after RequeueAfter.
	Phase        haulv1.PromotionPhase
	Message      string
	RequeueAfter time.Duration
	// Err is set when persisting state failed; the run should be retried.
	Err error
}

func (e *Engine) registry() *Registry {
	if e.Registry != nil {
		return e.Registry
	}
	return emptyRegistry
}

// emptyRegistry answers for an Engine built without steps: every step is unknown.
var emptyRegistry = NewRegistry()

func (e *Engine) evaluator() *Evaluator {
	if e.Evaluator != nil {
		return e.Evaluator
	}
	return defaultEvaluator
}

// StepAlias is the alias of step i: its `as`, or step-<i+1>.
func StepAlias(step haulv1.PromotionStep, i int) string {
	if step.As != "" {
		return step.As
	}
	return fmt.Sprintf("step-%d", i+1)
}

// Run runs steps from req.State until all are done, one reports Running, or a transient
// error asks for a retry. It is safe to call again with the returned State. Everything
// it returns or persists is masked with req.Secrets.
func (e *Engine) Run(ctx context.Context, req Request) (Result, State) {
	if req.Secrets == nil {
		req.Secrets = NewSecrets()
	}
	res, st := e.run(ctx, req)
	res.Message = req.Secrets.Mask(res.Message)
	res.Err = req.Secrets.MaskError(res.Err)
	return res, st
}

func (e *Engine) run(ctx context.Context, req Request) (Result, State) {
	sec := req.Secrets
	st := req.State.DeepCopy()
	req.services = e.Services.forRun(sec.Values())
	if st.Outputs == nil {
		st.Outputs = map[string]any{}
	}
	sec.restore(st.Outputs)
	for len(st.Steps) < len(req.Steps) {
		i := len(st.Steps)
		st.Steps = append(st.Steps, haulv1.StepExecutionMetadata{Alias: StepAlias(req.Steps[i], i)})
	}
	if req.Replay {
		st.CurrentStep = 0
		st.HealthChecks = nil
		for i := range st.Steps {
			st.Steps[i].Status = ""
			st.Steps[i].FinishedAt = nil
			st.Steps[i].ErrorCount = 0
		}
	}
	persisted := sec.forStatus(st)
	persist := func() error {
		out := sec.forStatus(st)
		if req.Persist != nil {
			if err := req.Persist(ctx, out); err != nil {
				return err
			}
		}
		persisted = out
		return nil
	}
	now := func() metav1.Time { return metav1.NewTime(e.Services.now()) }

	for st.CurrentStep < len(req.Steps) {
		i := st.CurrentStep
		step := req.Steps[i]
		meta := &st.Steps[i]
		if req.aborted(ctx) {
			running := meta.Status == StatusRunning
			if running {
				meta.Status, meta.Message, meta.FinishedAt = StatusAborted, "aborted while running", ptr(now())
			}
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			return Result{Phase: haulv1.PromotionAborted, Message: abortedMessage(meta.Alias, running)}, persisted
		}
		env, err := e.env(ctx, &req, &st, i)
		if err != nil {
			e.finishStep(sec, meta, StatusErrored, err.Error(), now())
			st.CurrentStep++
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			continue
		}
		cond := step.If
		if cond == "" {
			cond = "success()"
		}
		ok, err := e.evaluator().EvalBool(cond, env)
		if err != nil || !ok {
			msg := "skipped: condition is false"
			status := StatusSkipped
			if err != nil {
				msg, status = fmt.Sprintf("evaluating if: %v", err), StatusErrored
			}
			e.finishStep(sec, meta, status, msg, now())
			st.CurrentStep++
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			continue
		}
		if meta.StartedAt == nil {
			meta.StartedAt = ptr(now())
		}
		started := time.Now()
		sctx, stopAbortWatch := req.stepContext(ctx)
		res, runErr := e.runStep(sctx, &req, &st, i, env)
		stopAbortWatch()
		took := time.Since(started)
		stepDone := func() {
			if e.StepDone != nil {
				e.StepDone(step.Uses, meta.Status, took)
			}
		}
		if req.abortClosed() && (runErr != nil || res.Status == StatusRunning) {
			// The step was cut short (or would only be polled again): record it as
			// aborted, not as the error the cancellation caused.
			e.finishStep(sec, meta, StatusAborted, "aborted while running", now())
			stepDone()
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			return Result{Phase: haulv1.PromotionAborted, Message: abortedMessage(meta.Alias, true)}, persisted
		}
		if res.PullRequest != nil {
			meta.PullRequest = res.PullRequest.DeepCopy()
		}
		threshold := int32(1)
		if step.Retry != nil && step.Retry.ErrorThreshold > 0 {
			threshold = step.Retry.ErrorThreshold
		}
		timeout, timeoutFrom := e.stepTimeout(step)
		timedOut := timeout > 0 && e.Services.now().Sub(meta.StartedAt.Time) > timeout
		switch {
		case runErr != nil:
			meta.ErrorCount++
			msg := runErr.Error()
			if IsTerminal(runErr) || meta.ErrorCount >= threshold {
				e.finishStep(sec, meta, StatusErrored, msg, now())
				st.CurrentStep++
				break
			}
			if timedOut {
				// As Kargo: the timeout also ends a step that keeps erroring below
				// its threshold.
				e.finishStep(sec, meta, StatusErrored, fmt.Sprintf("timed out after %s (%s) while retrying errors: %s", timeout, timeoutFrom, msg), now())
				st.CurrentStep++
				break
			}
			meta.Status = StatusRunning
			meta.Message = truncate(sec.Mask(fmt.Sprintf("error %d of %d allowed, will retry: %s", meta.ErrorCount, threshold, msg)), 1024)
			stepDone()
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			return Result{Phase: haulv1.PromotionRunning, Message: meta.Message, RequeueAfter: backoff(meta.ErrorCount)}, persisted
		case res.Status == StatusRunning:
			meta.ErrorCount = 0
			if timedOut {
				e.finishStep(sec, meta, StatusFailed, fmt.Sprintf("timed out after %s (%s): %s", timeout, timeoutFrom, res.Message), now())
				st.CurrentStep++
				break
			}
			// The message says how long the step may keep waiting, so a Promotion
			// that waits without limit shows it. It stays the same from poll to
			// poll: an unchanged status is not written again.
			meta.Status, meta.Message = StatusRunning, truncate(sec.Mask(res.Message+waitNote(meta.StartedAt.Time, timeout, timeoutFrom)), 1024)
			if res.Output != nil {
				st.Outputs[meta.Alias] = copyValue(res.Output).(map[string]any)
			}
			stepDone()
			if err := persist(); err != nil {
				return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
			}
			after := res.RequeueAfter
			if after <= 0 {
				after = 5 * time.Second
			}
			return Result{Phase: haulv1.PromotionRunning, Message: meta.Message, RequeueAfter: after}, persisted
		default:
			meta.ErrorCount = 0
			status := res.Status
			if status == "" {
				status = StatusSucceeded
			}
			if res.Output != nil {
				st.Outputs[meta.Alias] = copyValue(res.Output).(map[string]any)
				if status == StatusSucceeded {
					e.propagateTaskOutput(&st, step.Uses, meta.Alias, res.Output)
				}
			}
			if res.HealthCheck != nil {
				st.HealthChecks = append(st.HealthChecks, *res.HealthCheck)
			}
			e.finishStep(sec, meta, status, res.Message, now())
			st.CurrentStep++
		}
		stepDone()
		if err := persist(); err != nil {
			return Result{Phase: haulv1.PromotionRunning, Err: err}, persisted
		}
	}
	return finalResult(req.Steps, st), sec.forStatus(st)
}

// stepTimeout is how long step may keep reporting Running (or erroring below its
// threshold), and where that comes from. As Kargo: retry.timeout when set, 0
// included; otherwise the step kind's default (argocd-update and argocd-wait: 5m);
// otherwise 0. 0 is no limit.
func (e *Engine) stepTimeout(step haulv1.PromotionStep) (time.Duration, string) {
	if step.Retry != nil && step.Retry.Timeout != nil {
		return step.Retry.Timeout.Duration, "retry.timeout"
	}
	if impl, ok := e.registry().Lookup(step.Uses); ok {
		if d, ok := impl.(defaultTimeouter); ok && d.DefaultTimeout() > 0 {
			return d.DefaultTimeout(), "the default of " + step.Uses + "; set retry.timeout to change it"
		}
	}
	return 0, "no retry.timeout"
}

// waitNote is appended to a Running step's message: when it times out, or that it
// waits without limit.
func waitNote(started time.Time, timeout time.Duration, from string) string {
	if timeout <= 0 {
		if from == "retry.timeout" {
			return " (no timeout: retry.timeout is 0, so it waits until the step finishes or the Promotion is aborted)"
		}
		return " (no timeout: it waits until the step finishes or the Promotion is aborted; set retry.timeout to limit it)"
	}
	return fmt.Sprintf(" (times out at %s, after %s: %s)", started.Add(timeout).UTC().Format(time.RFC3339), timeout, from)
}

// finishStep records a step's outcome; msg is masked before it is cut to length, so
// no part of a secret survives at the cut.
func (e *Engine) finishStep(sec *Secrets, meta *haulv1.StepExecutionMetadata, status haulv1.StepStatus, msg string, t metav1.Time) {
	if meta.StartedAt == nil {
		meta.StartedAt = &t
	}
	meta.Status, meta.Message, meta.FinishedAt = status, truncate(sec.Mask(msg), 1024), &t
}

// finalResult turns per-step outcomes into the Promotion phase.
func finalResult(steps []haulv1.PromotionStep, st State) Result {
	for i, m := range st.Steps {
		if i >= len(steps) || steps[i].ContinueOnError {
			continue
		}
		switch m.Status {
		case StatusErrored:
			return Result{Phase: haulv1.PromotionErrored, Message: fmt.Sprintf("step %q errored: %s", m.Alias, m.Message)}
		case StatusFailed:
			return Result{Phase: haulv1.PromotionFailed, Message: fmt.Sprintf("step %q failed: %s", m.Alias, m.Message)}
		case StatusAborted:
			return Result{Phase: haulv1.PromotionAborted, Message: "Promotion aborted"}
		}
	}
	return Result{Phase: haulv1.PromotionSucceeded, Message: "all steps succeeded"}
}

// runStep evaluates the step's config and runs it, turning panics into errors.
func (e *Engine) runStep(ctx context.Context, req *Request, st *State, i int, env Env) (res StepResult, err error) {
	step := req.Steps[i]
	meta := &st.Steps[i]
	if step.Uses == "" {
		return res, Terminal(fmt.Errorf("step %q has no uses (tasks must be expanded before running)", meta.Alias))
	}
	impl, ok := e.registry().Lookup(step.Uses)
	if !ok {
		return res, Terminal(fmt.Errorf("unknown step kind %q", step.Uses))
	}
	cfg := map[string]any{}
	if step.Config != nil && len(step.Config.Raw) > 0 {
		if err := json.Unmarshal(step.Config.Raw, &cfg); err != nil {
			return res, Terminal(fmt.Errorf("config is not a JSON object: %w", err))
		}
	}
	evaluated, err := e.evaluator().EvalValue(cfg, env, "config")
	if err != nil {
		return res, Terminal(err)
	}
	if lost, ok := findLost(evaluated); ok {
		return res, lost.err()
	}
	vars, _ := env["vars"].(map[string]any)
	sc := &StepContext{
		WorkDir: req.WorkDir, Project: req.Project, Stage: req.Stage, Promotion: req.Promotion,
		Freight: req.Freight, Alias: meta.Alias, Config: evaluated.(map[string]any),
		Vars: vars, Outputs: st.Outputs, StartedAt: meta.StartedAt.Time,
		Attempt: int(meta.ErrorCount) + 1, Services: req.services, Secrets: req.Secrets,
	}
	defer func() {
		if r := recover(); r != nil {
			req.services.logger().Error(fmt.Errorf("panic: %v", r), "Step panicked", "step", step.Uses, "stack", string(debug.Stack()))
			res, err = StepResult{}, Terminal(fmt.Errorf("step %s panicked: %v", step.Uses, r))
		}
	}()
	return impl.Run(ctx, sc)
}

func (s *Services) logger() interface {
	Error(error, string, ...any)
} {
	if s != nil && s.Logger.GetSink() != nil {
		return s.Logger
	}
	return discard{}
}

type discard struct{}

func (discard) Error(error, string, ...any) {}

func backoff(n int32) time.Duration {
	d := time.Second << min(n, 6)
	return min(d, time.Minute)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func ptr[T any](v T) *T { return &v }

// propagateTaskOutput merges the output of a step inside a task into the outputs of
// the task step's alias when the step kind asks for it (TaskOutputPropagator).
func (e *Engine) propagateTaskOutput(st *State, uses, alias string, out map[string]any) {
	task := taskAlias(alias)
	if task == "" {
		return
	}
	impl, ok := e.registry().Lookup(uses)
	if p, isP := impl.(TaskOutputPropagator); !ok || !isP || !p.PropagatesTaskOutput() {
		return
	}
	merged, _ := st.Outputs[task].(map[string]any)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, v := range copyValue(out).(map[string]any) {
		merged[k] = v
	}
	st.Outputs[task] = merged
}

// taskAlias is the alias of the task a step was expanded from, or "".
func taskAlias(alias string) string {
	if i := strings.Index(alias, TaskSeparator); i >= 0 {
		return alias[:i]
	}
	return ""
}

var errNoServices = errors.New("this function needs cluster access, which is not configured")
