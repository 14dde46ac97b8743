package stage

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// AutoPromotionActor is the haul.dev/create-actor of Promotions made by this controller;
// any other value (or none) marks a Promotion as manual.
const AutoPromotionActor = promotion.AutoPromotionActor

// autoPromote creates at most one Promotion per requested origin when the project's
// policy enables auto-promotion, and returns the holds that stopped it. For each origin:
//   - a hold (the newest manual Promotion of the origin deviated from the candidate of
//     its time) stops it until someone promotes the candidate again;
//   - no candidate, or the candidate already current, pending or running: nothing to do;
//   - the candidate's last Promotion to this Stage failed, errored or was aborted: a
//     human has to look, so it is not retried automatically.
//
// A paused Stage gets no new automatic Promotion, and on a Stage with an approval
// requirement only Freight with enough approvals is a candidate. Outside the Stage's
// promotion windows (windowOpen false) no Promotion is created; the pass that the
// schedule's next opening requeues creates it.
func (r *Reconciler) autoPromote(ctx context.Context, s *haulv1.Stage, obs *observation, windowOpen bool, now time.Time) ([]haulv1.AutoPromotionHold, error) {
	if !obs.autoPromotion || isControlFlow(s) || s.Spec.Paused {
		return nil, nil
	}
	var holds []haulv1.AutoPromotionHold
	for i := range s.Spec.RequestedFreight {
		req := &s.Spec.RequestedFreight[i]
		freight := approved(obs.freight[req.Origin], s, obs.approvalRule)
		hold, err := r.holdFor(ctx, s, req, obs, now)
		if err != nil {
			return holds, err
		}
		if hold != nil {
			holds = append(holds, *hold)
			continue
		}
		cand := pipeline.Candidate(s, req, freight, obs.stages, now)
		if cand == nil || pipeline.CurrentFreight(s, req.Origin) == cand.Name {
			continue
		}
		if !windowOpen || !r.shouldPromote(cand, obs) {
			continue
		}
		if err := r.createPromotion(ctx, s, cand, autoAttempt(cand, obs)); err != nil {
			return holds, err
		}
	}
	return holds, nil
}

// approved keeps the Freight that rule lets auto-promotion move to s (all of it when
// there is no rule). Auto-promotion has no requester, so forbidSelfApproval leaves
// nobody's approval out.
func approved(freight []*haulv1.Freight, s *haulv1.Stage, rule *haulv1.ApprovalRequirement) []*haulv1.Freight {
	if rule == nil {
		return freight
	}
	var out []*haulv1.Freight
	for _, f := range freight {
		if ok, _ := pipeline.ApprovalGate(f, s, rule, ""); ok {
			out = append(out, f)
		}
	}
	return out
}

// shouldPromote applies the rules about the candidate's own Promotions to this Stage.
// A Promotion created moments ago that the cache has not delivered yet is no risk: the
// one created again has the same name (promotion.AutoName) and the API server refuses it.
func (r *Reconciler) shouldPromote(cand *haulv1.Freight, obs *observation) bool {
	last := -1
	for i, p := range obs.promotions {
		if p.Spec.Freight != cand.Name {
			continue
		}
		if !p.Status.Phase.IsTerminal() {
			return false // already queued or running
		}
		last = i
	}
	if last < 0 {
		return true
	}
	if obs.promotions[last].Status.Phase != haulv1.PromotionSucceeded {
		return false // failed, errored or aborted last time: leave it to a human
	}
	// It succeeded last time but is not current: only promote again if something else
	// was promoted since; otherwise the Stage's freight history just lags behind.
	for _, p := range obs.promotions[last+1:] {
		if p.Status.Phase == haulv1.PromotionSucceeded {
			return true
		}
	}
	return false
}

// autoAttempt is which automatic Promotion of cand to this Stage the next one is: one
// more than those the cache holds.
func autoAttempt(cand *haulv1.Freight, obs *observation) int {
	n := 1
	for _, p := range obs.promotions {
		if p.Spec.Freight == cand.Name && p.Annotations[haulv1.AnnotationCreateActor] == AutoPromotionActor {
			n++
		}
	}
	return n
}

// AnnotationCandidate records, on a manual Promotion, what auto-promotion would have
// picked when the Stage controller first saw it ("none" if nothing). It is written
// once, so later Freight cannot change whether that Promotion was a rollback or pin.
const AnnotationCandidate = haulv1.AnnotationAutoPromotionCandidate

// holdFor returns the hold on req's origin, if any. The newest manual Promotion of
// the origin decides: if it promoted Freight other than what auto-promotion would have
// picked at the time (a rollback or a pin), auto-promotion of the origin stays off
// until a later manual Promotion picks the candidate again.
func (r *Reconciler) holdFor(ctx context.Context, s *haulv1.Stage, req *haulv1.FreightRequest, obs *observation, now time.Time) (*haulv1.AutoPromotionHold, error) {
	var manual *haulv1.Promotion
	for _, p := range obs.promotions {
		f := obs.freightByName[p.Spec.Freight]
		if f == nil || f.Origin != req.Origin || p.Annotations[haulv1.AnnotationCreateActor] == AutoPromotionActor {
			continue
		}
		manual = p
	}
	if manual == nil {
		return nil, nil
	}
	cand, seen := manual.Annotations[AnnotationCandidate]
	if !seen {
		cand = "none"
		if c := pipeline.Candidate(s, req, approved(obs.freight[req.Origin], s, obs.approvalRule), obs.stages, now); c != nil {
			cand = c.Name
		}
		edit := manual.DeepCopy() // manual is the cache's object
		patch := client.MergeFrom(manual)
		if edit.Annotations == nil {
			edit.Annotations = map[string]string{}
		}
		edit.Annotations[AnnotationCandidate] = cand
		if err := r.Patch(ctx, edit, patch); err != nil {
			return nil, fmt.Errorf("recording the auto-promotion candidate on promotion %s: %w", manual.Name, client.IgnoreNotFound(err))
		}
	}
	if cand == "none" || cand == manual.Spec.Freight {
		return nil, nil
	}
	f := obs.freightByName[manual.Spec.Freight]
	candName := cand
	if c := obs.freightByName[cand]; c != nil {
		candName = orName(c.Alias, c.Name)
	}
	since := manual.CreationTimestamp
	reason := fmt.Sprintf("Promotion %s moved Freight %s here by hand instead of %s; promote the newest available Freight by hand to resume auto-promotion",
		manual.Name, orName(f.Alias, f.Name), candName)
	if promotion.IsRollback(manual) {
		reason = fmt.Sprintf("Promotion %s rolled the Stage back to Freight %s after %s failed here; promote %s (or newer Freight) by hand to resume auto-promotion",
			manual.Name, orName(f.Alias, f.Name), candName, candName)
	}
	return &haulv1.AutoPromotionHold{
		Origin:       req.Origin,
		Freight:      manual.Spec.Freight,
		FreightAlias: f.Alias,
		Promotion:    manual.Name,
		Since:        &since,
		Reason:       reason,
	}, nil
}

// createPromotion creates the attempt-th automatic Promotion of f to the Stage. When it
// exists already (this pass ran ahead of the cache, or another process made it) that is
// success: the Promotion the Stage needs is there.
func (r *Reconciler) createPromotion(ctx context.Context, s *haulv1.Stage, f *haulv1.Freight, attempt int) error {
	p := promotion.NewAuto(s, f.Name, attempt)
	switch err := r.Create(ctx, p); {
	case apierrors.IsAlreadyExists(err):
		return nil
	case err != nil:
		return fmt.Errorf("creating auto-promotion of freight %s to stage %s: %w", f.Name, s.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Created auto-promotion", "promotion", p.Name, "freight", f.Name)
	r.Recorder.Eventf(s, corev1.EventTypeNormal, haulv1.ReasonAutoPromotionCreated, "Promotion %s created for Freight %s", p.Name, orName(f.Alias, f.Name))
	return nil
}

// untilChange is how long until the window schedule changes (0 when it never does
// within a year), so the Stage is reconciled when a window opens or closes.
func untilChange(st pipeline.WindowState, now time.Time) time.Duration {
	next := st.NextOpen
	if st.Open {
		next = st.NextClose
	}
	if next.IsZero() {
		return 0
	}
	return max(next.Sub(now), time.Second)
}
