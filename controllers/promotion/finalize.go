package promotion

import (
	"context"
	"os"

	corev1 "k8s.io/api/core/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
)

// finalize runs once a Promotion is terminal: it removes the work dir and releases the
// Stage's lock, so the next Promotion in line starts. What the Promotion changed in the
// Stage (freight history, current and last Promotion) and in the Freight (currentlyIn)
// is the Stage controller's to record: it reads the terminal Promotion. Every part is
// idempotent; the event and metrics are emitted by the call that released the lock.
func (r *Reconciler) finalize(ctx context.Context, p *haulv1.Promotion) error {
	defer r.secrets.forget(p.UID)
	r.removeWorkDir(p)
	released, err := r.releaseLock(ctx, p)
	if err != nil {
		return err
	}
	if released {
		r.event(p)
	}
	return nil
}

// event records the terminal phase on the Promotion (reasons equal condition reasons)
// and in the haul_promotions_* metrics. It runs once, when the Stage is released.
func (r *Reconciler) event(p *haulv1.Promotion) {
	metrics.PromotionsFinished.WithLabelValues(string(p.Status.Phase)).Inc()
	if p.Status.StartedAt != nil && p.Status.FinishedAt != nil {
		metrics.PromotionDuration.WithLabelValues(string(p.Status.Phase)).Observe(p.Status.FinishedAt.Sub(p.Status.StartedAt.Time).Seconds())
	}
	if r.Recorder == nil {
		return
	}
	reason, typ := haulv1.ReasonPromotionErrored, corev1.EventTypeWarning
	switch p.Status.Phase {
	case haulv1.PromotionSucceeded:
		reason, typ = haulv1.ReasonPromotionSucceeded, corev1.EventTypeNormal
	case haulv1.PromotionFailed:
		reason = haulv1.ReasonPromotionFailed
	case haulv1.PromotionAborted:
		reason = haulv1.ReasonPromotionAborted
	}
	// The status message is masked already; the Event strips credential-looking text
	// once more, since Events are kept apart from the Promotion and read by viewers.
	by := ""
	if r.Shard != "" {
		by = " (controller shard " + r.Shard + ")"
	}
	r.Recorder.Eventf(p, typ, reason, "Promotion of Freight %s to Stage %s%s: %s", p.Spec.Freight, p.Spec.Stage, by, r.secrets.mask(p.UID, p.Status.Message))
}

// removeWorkDir returns the Promotion's Git work trees to the shared pool and deletes the rest.
func (r *Reconciler) removeWorkDir(p *haulv1.Promotion) {
	dir := r.workDir(p)
	if r.Engine != nil && r.Engine.Services != nil && r.Engine.Services.Git != nil {
		r.Engine.Services.Git.Reclaim(dir)
	}
	_ = os.RemoveAll(dir)
}

// recordOverride tells that p starts although its Stage's promotion windows are closed
// (closed says why), because of its haul.dev/window-override: a Warning Event on the
// Promotion naming who overrode and their reason, and haul_promotion_window_overrides_total.
func (r *Reconciler) recordOverride(p *haulv1.Promotion, closed string) {
	metrics.WindowOverrides.Inc()
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(p, corev1.EventTypeWarning, haulv1.ReasonPromotionWindowOverridden,
		"Promotion of Freight %s to Stage %s started through a closed promotion window (%s): overridden by %s",
		p.Spec.Freight, p.Spec.Stage, closed, p.Annotations[haulv1.AnnotationWindowOverride])
}
