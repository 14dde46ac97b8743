package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

// Verification phases, recorded in freightHistory[].verificationHistory[].phase.
const (
	VerificationRunning   haulv1.VerificationPhase = "Running"
	VerificationSucceeded haulv1.VerificationPhase = "Succeeded"
	VerificationFailed    haulv1.VerificationPhase = "Failed"
	VerificationErrored   haulv1.VerificationPhase = "Errored"
	VerificationAborted   haulv1.VerificationPhase = "Aborted"
)

// Verifier runs verification steps through the promotion engine.
type Verifier interface {
	Run(ctx context.Context, req promotion.Request) (promotion.Result, promotion.State)
}

// newStepVerifier builds the engine verification runs with: the built-in steps, with
// http wrapped to support repeated checks (count, interval, failureLimit).
func newStepVerifier(r *Reconciler) Verifier {
	return &promotion.Engine{
		Registry: verificationRegistry(steps.Builtin()),
		Services: &promotion.Services{
			Dynamic: r.Dynamic, Reconciler: r.Reconcilers, Kube: r.Kube, Now: r.now, Logger: ctrl.Log.WithName("verification"),
			HTTPClient: promotion.AddressPolicy{DenyPrivate: r.Options.DenyPrivateHTTP}.Client,
		},
		StepDone: metrics.ObserveStep,
	}
}

func hasVerification(s *haulv1.Stage) bool {
	return s.Spec.Verification != nil && (len(s.Spec.Verification.Steps) > 0 || len(s.Spec.Verification.AnalysisTemplates) > 0)
}

// reconcileVerification decides and records whether the Stage's current Freight is
// verified. Verification starts once the Stage is healthy after a promotion; a Stage
// without verification counts as verified as soon as it is healthy. It fills st and
// returns when to look again.
func (r *Reconciler) reconcileVerification(ctx context.Context, s *haulv1.Stage, obs *observation, st *statusUpdate, now time.Time) (time.Duration, error) {
	if isControlFlow(s) {
		st.verified = &condition{metav1.ConditionTrue, haulv1.ReasonControlFlow, "the Stage has no steps; available Freight counts as verified"}
		return 0, nil
	}
	if len(s.Status.FreightHistory) == 0 {
		return 0, nil
	}
	cur := &s.Status.FreightHistory[0]
	if hasVerification(s) {
		// Verification has side effects (checks, Jobs), so decide from the stored run,
		// not from a cache that may not have seen the last pass's write yet.
		fresh := &haulv1.Stage{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), fresh); err != nil {
			return 0, fmt.Errorf("reading stage %s: %w", s.Name, err)
		}
		if len(fresh.Status.FreightHistory) > 0 {
			cur = &fresh.Status.FreightHistory[0]
		}
	}
	st.verificationFor = [2]string{cur.ID, cur.Promotion}
	var latest *haulv1.VerificationResult
	if len(cur.VerificationHistory) > 0 {
		// A copy: s must stay as read, so the status patch sees what changed.
		latest = cur.VerificationHistory[0].DeepCopy()
		st.verificationGuard = latest.ID
	}

	reverify := annotationRequest(s, haulv1.AnnotationReverify, s.Status.LastHandledReverify)
	abort := annotationRequest(s, haulv1.AnnotationAbort, s.Status.LastHandledAbort)
	if abort != "" {
		st.abort = &abort
	}
	if reverify != "" {
		st.reverify = &reverify
	}

	// Without verification, health is the only gate.
	if !hasVerification(s) {
		if wait := healthGate(st); wait != nil {
			st.verified = wait
			return 0, nil
		}
		if err := r.markCollectionVerified(ctx, s, cur, obs, promotedAt(cur), reverify != "", now); err != nil {
			return 0, err
		}
		st.verified = &condition{metav1.ConditionTrue, haulv1.ReasonVerificationPassed, "the Stage is healthy and has no verification to run"}
		return 0, nil
	}

	running := latest != nil && (latest.Phase == VerificationRunning || latest.Phase == "Pending")
	var edits []func(*haulv1.FreightCollection)
	switch {
	case abort != "" && running:
		id := latest.ID
		if err := r.terminateAnalysis(ctx, s.Namespace, latest.AnalysisRun); err != nil {
			return 0, err
		}
		edits = append(edits, func(c *haulv1.FreightCollection) {
			finishRun(c, id, VerificationAborted, "aborted by the "+haulv1.AnnotationAbort+" annotation", now)
		})
		r.Recorder.Eventf(s, corev1.EventTypeNormal, haulv1.ReasonVerificationAborted, "Verification %s aborted", id)
		latest = &haulv1.VerificationResult{ID: id, Phase: VerificationAborted, Message: "aborted by the " + haulv1.AnnotationAbort + " annotation"}
		running = false
	case reverify != "":
		if running {
			id := latest.ID
			if err := r.terminateAnalysis(ctx, s.Namespace, latest.AnalysisRun); err != nil {
				return 0, err
			}
			edits = append(edits, func(c *haulv1.FreightCollection) {
				finishRun(c, id, VerificationAborted, "superseded by a re-verification", now)
			})
		}
		latest, running = nil, false
	}

	if latest == nil {
		if wait := healthGate(st); wait != nil {
			st.verified = wait
			st.verificationEdit = chain(edits)
			return 0, nil
		}
		latest = &haulv1.VerificationResult{
			ID:        strings.ToLower(ulid.Make().String()),
			Phase:     VerificationRunning,
			StartedAt: &metav1.Time{Time: now},
		}
		started := *latest
		edits = append(edits, func(c *haulv1.FreightCollection) {
			c.VerificationHistory = append([]haulv1.VerificationResult{started}, c.VerificationHistory...)
			if len(c.VerificationHistory) > 10 {
				c.VerificationHistory = c.VerificationHistory[:10]
			}
		})
		r.Recorder.Eventf(s, corev1.EventTypeNormal, haulv1.ReasonVerificationRunning, "Verification %s of Freight %s started", latest.ID, freightSummary(s))
		running = true
	}

	var requeue time.Duration
	if running {
		res, err := r.runVerification(ctx, s, cur, latest, now)
		if err != nil {
			return 0, err
		}
		updated := *latest
		edits = append(edits, func(c *haulv1.FreightCollection) { replaceRun(c, updated) })
		requeue = res
	}
	st.verificationEdit = chain(edits)
	st.lastRun = latest

	switch latest.Phase {
	case VerificationSucceeded:
		if err := r.markCollectionVerified(ctx, s, cur, obs, latest.StartedAt, false, now); err != nil {
			return 0, err
		}
		st.verified = &condition{metav1.ConditionTrue, haulv1.ReasonVerificationPassed, fmt.Sprintf("verification %s passed", latest.ID)}
	case VerificationRunning:
		st.verified = &condition{metav1.ConditionUnknown, haulv1.ReasonVerificationRunning, fmt.Sprintf("verification %s is running: %s", latest.ID, latest.Message)}
	default:
		st.verified = &condition{metav1.ConditionFalse, verificationReason(latest.Phase),
			fmt.Sprintf("verification %s %s: %s", latest.ID, strings.ToLower(string(latest.Phase)), latest.Message)}
	}
	return requeue, nil
}

// annotationRequest returns the annotation's value when it asks for something not yet handled.
func annotationRequest(s *haulv1.Stage, key, handled string) string {
	v := s.Annotations[key]
	if v == "" || v == handled {
		return ""
	}
	return v
}

// healthGate returns the Verified condition to show while health keeps verification
// from starting, or nil when the Stage is healthy enough to verify.
func healthGate(st *statusUpdate) *condition {
	if st.health == nil {
		return nil
	}
	switch st.health.Status {
	case haulv1.HealthHealthy, haulv1.HealthNotApplicable:
		return nil
	case haulv1.HealthUnhealthy:
		return &condition{metav1.ConditionFalse, haulv1.ReasonUnhealthy, "verification waits for the Stage to become healthy: " + strings.Join(st.health.Issues, "; ")}
	default:
		// Not VerificationRunning: a Stage stuck Progressing must not block the next
		// Promotion (which may be the fix), only a verification actually running does.
		return &condition{metav1.ConditionUnknown, haulv1.ReasonWaitingForHealth, "waiting for the Stage to become healthy before verifying"}
	}
}

func promotedAt(c *haulv1.FreightCollection) *metav1.Time { return c.PromotedAt }

// markCollectionVerified records every Freight of the collection as verified in the
// Stage, unless it already was since notBefore (so nothing is written twice).
func (r *Reconciler) markCollectionVerified(ctx context.Context, s *haulv1.Stage, c *haulv1.FreightCollection, obs *observation, notBefore *metav1.Time, force bool, now time.Time) error {
	for _, item := range c.Items {
		f := obs.freightByName[item.Name]
		if f == nil {
			continue
		}
		if v, ok := f.Status.VerifiedIn[s.Name]; ok && !force && v.VerifiedAt != nil &&
			(notBefore == nil || !v.VerifiedAt.Before(notBefore)) {
			continue
		}
		if err := r.markVerified(obs, f, s.Name, haulv1.VerifiedStage{VerifiedAt: &metav1.Time{Time: now}}); err != nil {
			return err
		}
	}
	return nil
}

func chain(edits []func(*haulv1.FreightCollection)) func(*haulv1.FreightCollection) {
	if len(edits) == 0 {
		return nil
	}
	return func(c *haulv1.FreightCollection) {
		for _, e := range edits {
			e(c)
		}
	}
}

func finishRun(c *haulv1.FreightCollection, id string, phase haulv1.VerificationPhase, msg string, now time.Time) {
	for i := range c.VerificationHistory {
		if c.VerificationHistory[i].ID == id {
			c.VerificationHistory[i].Phase = phase
			c.VerificationHistory[i].Message = msg
			c.VerificationHistory[i].FinishedAt = &metav1.Time{Time: now}
		}
	}
}

func replaceRun(c *haulv1.FreightCollection, run haulv1.VerificationResult) {
	for i := range c.VerificationHistory {
		if c.VerificationHistory[i].ID == run.ID {
			c.VerificationHistory[i] = run
		}
	}
}

// runVerification advances one verification run through the engine and updates run
// in place. It returns when to call again while the run is still going.
func (r *Reconciler) runVerification(ctx context.Context, s *haulv1.Stage, c *haulv1.FreightCollection, run *haulv1.VerificationResult, now time.Time) (time.Duration, error) {
	if r.Verifier == nil {
		run.Phase, run.Message, run.FinishedAt = VerificationErrored, "verification steps cannot run: no step engine configured", &metav1.Time{Time: now}
		return 0, nil
	}
	steps, err := promotion.ExpandTasks(ctx, s.Spec.Verification.Steps, s.Spec.Vars, r.taskGetter(s.Namespace))
	if err != nil {
		run.Phase, run.Message, run.FinishedAt = VerificationErrored, fmt.Sprintf("spec.verification.steps: %v", err), &metav1.Time{Time: now}
		return 0, nil
	}
	state := promotion.State{Steps: run.Steps, Outputs: map[string]any{}}
	for _, m := range run.Steps {
		if m.FinishedAt == nil {
			break
		}
		state.CurrentStep++
	}
	if run.Outputs != nil && len(run.Outputs.Raw) > 0 {
		if err := json.Unmarshal(run.Outputs.Raw, &state.Outputs); err != nil {
			return 0, fmt.Errorf("decoding outputs of verification %s: %w", run.ID, err)
		}
	}
	dir := filepath.Join(r.workDir(), "verification", s.Namespace, s.Name, run.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("creating verification work dir: %w", err)
	}
	res, state := r.Verifier.Run(ctx, promotion.Request{
		Project:   s.Namespace,
		Stage:     s.Name,
		Promotion: "verify-" + run.ID,
		Freight:   primaryFreight(c),
		Steps:     steps,
		Vars:      s.Spec.Vars,
		WorkDir:   dir,
		State:     state,
	})
	if res.Err != nil {
		return 0, res.Err
	}
	run.Steps = state.Steps
	run.Outputs = nil
	if len(state.Outputs) > 0 {
		raw, err := json.Marshal(state.Outputs)
		if err != nil {
			return 0, fmt.Errorf("encoding outputs of verification %s: %w", run.ID, err)
		}
		run.Outputs = &apiextensionsv1.JSON{Raw: raw}
	}
	run.Message = res.Message
	if len(s.Spec.Verification.AnalysisTemplates) > 0 && res.Phase == haulv1.PromotionSucceeded {
		// After the steps pass, the analysis templates; they need Argo Rollouts, and
		// without its CRD they are skipped, visibly.
		// Never pass by default: without the CRDs the run errors and the Freight stays
		// unverified.
		if !r.rolloutsInstalled() {
			run.Phase, run.Message, run.FinishedAt = VerificationErrored, rolloutsMissing, &metav1.Time{Time: now}
			_ = os.RemoveAll(dir)
			r.Recorder.Eventf(s, corev1.EventTypeWarning, verificationReason(run.Phase), "Verification %s errored: %s", run.ID, run.Message)
			return 0, nil
		}
		{
			done, phase, msg, err := r.runAnalysis(ctx, s, c, run)
			if err != nil {
				return 0, err
			}
			run.Message = msg
			if !done {
				run.Phase = VerificationRunning
				return 2 * time.Second, nil
			}
			run.Phase, run.FinishedAt = phase, &metav1.Time{Time: now}
			_ = os.RemoveAll(dir)
			r.Recorder.Eventf(s, corev1.EventTypeNormal, verificationReason(run.Phase), "Verification %s %s: %s", run.ID, strings.ToLower(string(run.Phase)), run.Message)
			return 0, nil
		}
	}
	switch res.Phase {
	case haulv1.PromotionRunning, haulv1.PromotionPending:
		run.Phase = VerificationRunning
		return max(res.RequeueAfter, time.Second), nil
	case haulv1.PromotionSucceeded:
		run.Phase = VerificationSucceeded
	case haulv1.PromotionFailed:
		run.Phase = VerificationFailed
	case haulv1.PromotionAborted:
		run.Phase = VerificationAborted
	default:
		run.Phase = VerificationErrored
	}
	run.FinishedAt = &metav1.Time{Time: now}
	_ = os.RemoveAll(dir)
	r.Recorder.Eventf(s, corev1.EventTypeNormal, verificationReason(run.Phase), "Verification %s %s: %s", run.ID, strings.ToLower(string(run.Phase)), run.Message)
	return 0, nil
}

func (r *Reconciler) workDir() string {
	if r.Options.WorkDir != "" {
		return r.Options.WorkDir
	}
	return filepath.Join(os.TempDir(), "haul")
}

// primaryFreight is the Freight expressions see as ctx.targetFreight: with several
// origins, the first by origin name.
func primaryFreight(c *haulv1.FreightCollection) haulv1.FreightReference {
	keys := make([]string, 0, len(c.Items))
	for k := range c.Items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return haulv1.FreightReference{}
	}
	return c.Items[keys[0]]
}

// taskGetter resolves PromotionTasks in the project and ClusterPromotionTasks.
func (r *Reconciler) taskGetter(ns string) promotion.TaskGetter {
	return func(ctx context.Context, kind haulv1.PromotionTaskKind, name string) (*haulv1.PromotionTaskSpec, error) {
		if kind == haulv1.PromotionTaskKindCluster {
			t := &haulv1.ClusterPromotionTask{}
			if err := r.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
				return nil, err
			}
			return &t.Spec, nil
		}
		t := &haulv1.PromotionTask{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t); err != nil {
			return nil, err
		}
		return &t.Spec, nil
	}
}

// verificationReason is the event reason for a verification run that ended in phase.
func verificationReason(phase haulv1.VerificationPhase) string {
	switch phase {
	case haulv1.VerificationSucceeded:
		return haulv1.ReasonVerificationSucceeded
	case haulv1.VerificationFailed:
		return haulv1.ReasonVerificationFailed
	case haulv1.VerificationAborted:
		return haulv1.ReasonVerificationAborted
	case haulv1.VerificationInconclusive:
		return haulv1.ReasonVerificationInconclusive
	case haulv1.VerificationErrored:
		return haulv1.ReasonVerificationErrored
	}
	return haulv1.ReasonVerificationRunning
}
