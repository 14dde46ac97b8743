package promotion

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
)

// maxFreightHistory is how many FreightCollections a Stage keeps.
const maxFreightHistory = 10

// finalize runs once a Promotion is terminal: it removes the work dir, releases the
// Stage (recording a successful Promotion's Freight in its history), then marks where
// the Freight now is. The Stage comes first because the next Promotion waits for it;
// the Freight marks are repaired by any later finalize of the Stage's newest
// Promotion, so a crash in between loses nothing. Every part is idempotent.
func (r *Reconciler) finalize(ctx context.Context, p *haulv1.Promotion) error {
	defer r.secrets.forget(p.UID)
	r.removeWorkDir(p)
	stage := &haulv1.Stage{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Stage}, stage); err != nil {
		return client.IgnoreNotFound(err)
	}
	released := false
	if cur := stage.Status.CurrentPromotion; cur != nil && cur.Name == p.Name {
		fresh := false
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			if fresh {
				if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(stage), stage); err != nil {
					return err
				}
				if cur := stage.Status.CurrentPromotion; cur == nil || cur.Name != p.Name {
					return nil
				}
			}
			fresh = true
			s := stage.DeepCopy()
			ref := &haulv1.PromotionReference{Name: p.Name, Freight: p.Spec.Freight, Phase: p.Status.Phase, FinishedAt: p.Status.FinishedAt}
			if p.Status.Freight != nil {
				ref.FreightAlias = p.Status.Freight.Alias
			}
			s.Status.LastPromotion = ref
			s.Status.CurrentPromotion = nil
			if p.Status.Phase == haulv1.PromotionSucceeded && p.Status.Freight != nil {
				s.Status.FreightHistory = recordHistory(s.Status.FreightHistory, p, metav1.Time{Time: r.now()})
			}
			if err := r.Status().Update(ctx, s); err != nil {
				return err
			}
			*stage = *s
			released = true
			return nil
		})
		if err != nil {
			return client.IgnoreNotFound(err)
		}
	}
	if p.Status.Phase == haulv1.PromotionSucceeded && p.Status.Freight != nil &&
		len(stage.Status.FreightHistory) > 0 && stage.Status.FreightHistory[0].Promotion == p.Name {
		if err := r.recordFreight(ctx, p, stage, released); err != nil {
			return err
		}
	}
	if released {
		r.event(p)
	}
	return nil
}

// recordHistory prepends the collection now in the Stage (the promoted Freight plus the
// current Freight of other origins); a replayed finalize does not add it twice.
func recordHistory(h []haulv1.FreightCollection, p *haulv1.Promotion, now metav1.Time) []haulv1.FreightCollection {
	if len(h) > 0 && h[0].Promotion == p.Name {
		return h
	}
	items := map[string]haulv1.FreightReference{}
	if len(h) > 0 {
		for k, v := range h[0].Items {
			items[k] = v
		}
	}
	items[originKey(p.Status.Freight.Origin)] = *p.Status.Freight
	names := make([]string, 0, len(items))
	for _, v := range items {
		names = append(names, v.Name)
	}
	sort.Strings(names)
	fc := haulv1.FreightCollection{ID: strings.Join(names, ","), Items: items, PromotedAt: &now, Promotion: p.Name}
	out := append([]haulv1.FreightCollection{fc}, h...)
	if len(out) > maxFreightHistory {
		out = out[:maxFreightHistory]
	}
	return out
}

func originKey(o haulv1.FreightOrigin) string {
	kind := string(o.Kind)
	if kind == "" {
		kind = "Warehouse"
	}
	return kind + "/" + o.Name
}

// recordFreight sets Freight.status.currentlyIn[stage] for p's Freight, the newest in
// the Stage's history, and removes the Stage from the Freight of the same origin it
// replaced. Right after the release (always) it writes both; a later finalize of the
// same Promotion (a reconcile after a crash, a restart) writes only what the cache
// shows missing, so an already recorded Promotion costs no API writes.
func (r *Reconciler) recordFreight(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage, always bool) error {
	name := p.Status.Freight.Name
	if h := stage.Status.FreightHistory; len(h) > 1 {
		if prev, ok := h[1].Items[originKey(p.Status.Freight.Origin)]; ok && prev.Name != name && (always || r.cachedIn(ctx, p.Namespace, prev.Name, stage.Name)) {
			patch, _ := json.Marshal(map[string]any{"status": map[string]any{"currentlyIn": map[string]any{stage.Name: nil}}})
			err := r.Status().Patch(ctx, &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: prev.Name}},
				client.RawPatch(types.MergePatchType, patch))
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	if !always && r.cachedIn(ctx, p.Namespace, name, stage.Name) {
		return nil
	}
	since := metav1.Time{Time: r.now()}
	if p.Status.FinishedAt != nil {
		since = *p.Status.FinishedAt
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"currentlyIn": map[string]any{
		stage.Name: haulv1.CurrentStage{Since: &since},
	}}})
	err := r.Status().Patch(ctx, &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: name}},
		client.RawPatch(types.MergePatchType, patch))
	return client.IgnoreNotFound(err)
}

// cachedIn says whether the cached Freight records being in the Stage (false when the
// cache does not have it).
func (r *Reconciler) cachedIn(ctx context.Context, ns, freight, stage string) bool {
	f := &haulv1.Freight{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: freight}, f); err != nil {
		return false
	}
	_, ok := f.Status.CurrentlyIn[stage]
	return ok
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
	r.Recorder.Eventf(p, typ, reason, "Promotion of Freight %s to Stage %s: %s", p.Spec.Freight, p.Spec.Stage, r.secrets.mask(p.UID, p.Status.Message))
}

// removeWorkDir returns the Promotion's Git work trees to the shared pool and deletes the rest.
func (r *Reconciler) removeWorkDir(p *haulv1.Promotion) {
	dir := r.workDir(p)
	if r.Engine != nil && r.Engine.Services != nil && r.Engine.Services.Git != nil {
		r.Engine.Services.Git.Reclaim(dir)
	}
	_ = os.RemoveAll(dir)
}
