package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// condition is one desired condition.
type condition struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

// statusUpdate is Stage.status as one pass computed it: this controller is its only
// writer. It is applied to the copy in hand, and again to a fresh copy after a write
// conflict (another pass of this controller, or a user's refresh annotation).
type statusUpdate struct {
	generation int64
	now        time.Time

	cycle []string

	health   *haulv1.Health
	verified *condition
	// verificationFor is the freight collection (ID and Promotion) verification
	// results belong to; verificationEdit changes that collection's verificationHistory.
	verificationFor [2]string
	// verificationGuard is the newest verification run ID this pass saw ("" for none);
	// edits made from that view are dropped if another pass already moved on.
	verificationGuard string
	verificationEdit  func(*haulv1.FreightCollection)
	reverify, abort   *string
	// lastRun is the current collection's newest verification run after this pass
	// (nil without verification); stable the stable Freight map to write, nil when it
	// did not change.
	lastRun *haulv1.VerificationResult
	stable  map[string]string
	// refresh is a haul.dev/refresh value to record as handled.
	refresh *string

	autoPromotionEnabled bool
	holds                []haulv1.AutoPromotionHold
	// window is the promotion window schedule, nil when no window selects the Stage.
	window  *haulv1.PromotionWindowStatus
	summary string
	// promotions is what the Stage's Promotions record: current and last Promotion and
	// the freight collections successful ones brought in.
	promotions *promotionRecord
}

func (u *statusUpdate) set(s *haulv1.Stage, typ string, c condition) {
	meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{
		Type: typ, Status: c.status, Reason: c.reason, Message: c.message, ObservedGeneration: u.generation,
	})
}

// apply writes the update into s.
func (u *statusUpdate) apply(s *haulv1.Stage) {
	if u.promotions != nil {
		u.promotions.apply(s)
	}
	if u.refresh != nil {
		s.Status.LastHandledRefresh = *u.refresh
	}
	if u.cycle != nil {
		u.set(s, haulv1.ConditionReady, condition{metav1.ConditionFalse, haulv1.ReasonCycleDetected,
			fmt.Sprintf("upstream stages form a cycle: %s; the Stage is not promoted until the cycle is removed", pipeline.FormatCycle(u.cycle))})
		u.set(s, haulv1.ConditionStalled, condition{metav1.ConditionTrue, haulv1.ReasonCycleDetected,
			"the upstream stages form a cycle; edit one of them to break it"})
		meta.RemoveStatusCondition(&s.Status.Conditions, haulv1.ConditionReconciling)
		s.Status.AutoPromotionHolds = nil
		s.Status.ObservedGeneration = u.generation
		return
	}
	meta.RemoveStatusCondition(&s.Status.Conditions, haulv1.ConditionStalled)

	if u.health == nil {
		s.Status.Health = nil
	} else {
		h := u.health.DeepCopy()
		if old := s.Status.Health; old != nil && old.Status == h.Status && slices.Equal(old.Issues, h.Issues) {
			h.CheckedAt = old.CheckedAt
		} else {
			h.CheckedAt = &metav1.Time{Time: u.now.Truncate(time.Second)}
		}
		s.Status.Health = h
	}
	healthy := healthCondition(s, u.health)
	u.set(s, haulv1.ConditionHealthy, healthy)

	if u.verificationEdit != nil && len(s.Status.FreightHistory) > 0 {
		c := &s.Status.FreightHistory[0]
		newest := ""
		if len(c.VerificationHistory) > 0 {
			newest = c.VerificationHistory[0].ID
		}
		if [2]string{c.ID, c.Promotion} == u.verificationFor && newest == u.verificationGuard {
			u.verificationEdit(c)
		}
	}
	verified := condition{metav1.ConditionUnknown, haulv1.ReasonNoFreight, "the Stage holds no Freight yet"}
	if u.verified != nil {
		verified = *u.verified
	}
	u.set(s, haulv1.ConditionVerified, verified)
	if u.reverify != nil {
		s.Status.LastHandledReverify = *u.reverify
	}
	if u.abort != nil {
		s.Status.LastHandledAbort = *u.abort
	}

	promoting := condition{metav1.ConditionFalse, haulv1.ReasonNotPromoting, "no Promotion is running"}
	if cur := s.Status.CurrentPromotion; cur != nil {
		promoting = condition{metav1.ConditionTrue, haulv1.ReasonPromotionRunning,
			fmt.Sprintf("promoting Freight %s (%s)", orName(cur.FreightAlias, cur.Freight), cur.Name)}
	}
	u.set(s, haulv1.ConditionPromoting, promoting)

	ready := condition{metav1.ConditionTrue, haulv1.ReasonReconciled, "the Stage is ready"}
	switch {
	case healthy.status == metav1.ConditionFalse:
		ready = condition{metav1.ConditionFalse, healthy.reason, healthy.message}
	case verified.status == metav1.ConditionFalse:
		ready = condition{metav1.ConditionFalse, verified.reason, verified.message}
	case s.Status.LastPromotion != nil && s.Status.CurrentPromotion == nil && failedPhase(s.Status.LastPromotion.Phase):
		lp := s.Status.LastPromotion
		ready = condition{metav1.ConditionFalse, phaseReason(lp.Phase),
			fmt.Sprintf("the last Promotion %s of Freight %s ended %s", lp.Name, orName(lp.FreightAlias, lp.Freight), lp.Phase)}
	case healthy.status == metav1.ConditionUnknown && healthy.reason != haulv1.ReasonNoFreight:
		ready = condition{metav1.ConditionUnknown, healthy.reason, healthy.message}
	case verified.status == metav1.ConditionUnknown && verified.reason == haulv1.ReasonVerificationRunning:
		ready = condition{metav1.ConditionUnknown, verified.reason, verified.message}
	}
	u.set(s, haulv1.ConditionReady, ready)

	// kstatus: the Stage is in progress while a Promotion or a verification runs.
	switch {
	case s.Status.CurrentPromotion != nil:
		u.set(s, haulv1.ConditionReconciling, condition{metav1.ConditionTrue, haulv1.ReasonPromotionRunning, promoting.message})
	case verified.reason == haulv1.ReasonVerificationRunning:
		u.set(s, haulv1.ConditionReconciling, condition{metav1.ConditionTrue, verified.reason, verified.message})
	default:
		meta.RemoveStatusCondition(&s.Status.Conditions, haulv1.ConditionReconciling)
	}

	if u.stable != nil {
		raw, _ := json.Marshal(u.stable) // a map of strings always encodes
		if s.Status.Metadata == nil {
			s.Status.Metadata = map[string]apiextensionsv1.JSON{}
		}
		s.Status.Metadata[MetadataStableFreight] = apiextensionsv1.JSON{Raw: raw}
	}
	s.Status.AutoPromotionEnabled = u.autoPromotionEnabled
	s.Status.AutoPromotionHolds = u.holds
	s.Status.PromotionWindowStatus = u.window
	s.Status.FreightSummary = u.summary
	s.Status.ObservedGeneration = u.generation
}

func healthCondition(s *haulv1.Stage, h *haulv1.Health) condition {
	if isControlFlow(s) {
		return condition{metav1.ConditionTrue, haulv1.ReasonControlFlow, "the Stage has no steps; it only routes Freight"}
	}
	if h == nil {
		return condition{metav1.ConditionUnknown, haulv1.ReasonNoFreight, "the Stage holds no Freight yet"}
	}
	msg := strings.Join(h.Issues, "; ")
	switch h.Status {
	case haulv1.HealthHealthy:
		return condition{metav1.ConditionTrue, haulv1.ReasonHealthy, "every health check passes"}
	case haulv1.HealthNotApplicable:
		return condition{metav1.ConditionTrue, haulv1.ReasonNoHealthChecks, "the current Freight's Promotion left no health checks"}
	case haulv1.HealthUnhealthy:
		return condition{metav1.ConditionFalse, haulv1.ReasonUnhealthy, msg}
	case haulv1.HealthProgressing:
		return condition{metav1.ConditionUnknown, haulv1.ReasonProgressing, msg}
	default:
		return condition{metav1.ConditionUnknown, string(haulv1.HealthUnknown), msg}
	}
}

func failedPhase(p haulv1.PromotionPhase) bool {
	return p == haulv1.PromotionFailed || p == haulv1.PromotionErrored
}

func phaseReason(p haulv1.PromotionPhase) string {
	switch p {
	case haulv1.PromotionFailed:
		return haulv1.ReasonPromotionFailed
	case haulv1.PromotionErrored:
		return haulv1.ReasonPromotionErrored
	case haulv1.PromotionAborted:
		return haulv1.ReasonPromotionAborted
	}
	return haulv1.ReasonPromotionSucceeded
}

func orName(alias, name string) string {
	if alias != "" {
		return alias
	}
	return name
}

// freightSummary is the printer column: the alias of the current Freight, or the
// aliases of each origin's Freight joined when the Stage requests several origins.
func freightSummary(s *haulv1.Stage) string {
	if len(s.Status.FreightHistory) == 0 {
		return ""
	}
	var names []string
	for _, item := range s.Status.FreightHistory[0].Items {
		names = append(names, orName(item.Alias, shortName(item.Name)))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func shortName(n string) string {
	if len(n) > 7 {
		return n[:7]
	}
	return n
}

// patchStatus applies mutate to the Stage and writes the status with an
// optimistic-lock merge patch, only when mutate changed something. On a conflict (a
// user edited the Stage in between) it re-reads the Stage from the API server and
// applies mutate again. A successful write is remembered (writtenStages) so the next
// pass does not start from a cache that has not seen it yet.
func (r *Reconciler) patchStatus(ctx context.Context, s *haulv1.Stage, mutate func(*haulv1.Stage)) error {
	cur := s
	first := true
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !first {
			fresh := &haulv1.Stage{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), fresh); err != nil {
				return err
			}
			cur = fresh
		}
		first = false
		before := cur.DeepCopy()
		mutate(cur)
		if equality.Semantic.DeepEqual(before.Status, cur.Status) {
			return nil
		}
		if err := r.Status().Patch(ctx, cur, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		r.written.remember(before.ResourceVersion, cur)
		return nil
	})
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("patching status of stage %s: %w", s.Name, err)
	}
	return nil
}
