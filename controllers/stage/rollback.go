package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// MetadataStableFreight is the key of Stage.status.metadata where the Stage controller
// keeps, per origin ("Warehouse/<name>"), the Freight last verified in the Stage: where
// an automatic rollback returns to. Kargo keeps it under the same key.
const MetadataStableFreight = "stableFreight"

// maxRollbackAge is how old a failure may be and still cause a rollback: failures from
// before autoRollback was switched on, or from long ago, do not.
const maxRollbackAge = 20 * time.Minute

// stableFreight reads status.metadata.stableFreight; a value that is not a map of
// names (written by hand) reads as none.
func stableFreight(s *haulv1.Stage) map[string]string {
	raw, ok := s.Status.Metadata[MetadataStableFreight]
	if !ok || len(raw.Raw) == 0 {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw.Raw, &m); err != nil {
		return nil
	}
	return m
}

// updateStable returns the stable Freight map after this pass: the current collection's
// Freight when this pass found it verified. It returns nil when nothing changed.
func updateStable(s *haulv1.Stage, st *statusUpdate) map[string]string {
	if !st.judgedCurrent(s) || st.verified == nil || st.verified.status != metav1.ConditionTrue {
		return nil
	}
	old := stableFreight(s)
	next := make(map[string]string, len(old)+1)
	maps.Copy(next, old)
	for _, item := range s.Status.FreightHistory[0].Items {
		next[originKey(item.Origin)] = item.Name
	}
	if maps.Equal(old, next) {
		return nil
	}
	return next
}

// judgedCurrent says whether this pass's verification verdict is about the Stage's
// current collection. Right after a Promotion the stored status may still show the
// previous one, and the verdict is then about that.
func (u *statusUpdate) judgedCurrent(s *haulv1.Stage) bool {
	if len(s.Status.FreightHistory) == 0 {
		return false
	}
	c := s.Status.FreightHistory[0]
	return u.verificationFor == [2]string{c.ID, c.Promotion}
}

// rollbackPlan is one rollback to make: the stable Freight to return to, the Freight
// that failed, and the failure (a verification run ID or a Promotion name) that names
// the rollback Promotion.
type rollbackPlan struct {
	stable, failed, trigger, why string
}

// planRollback decides whether the Stage needs a rollback now, under its autoRollback
// policy (see haulv1.AutoRollbackConfig for the rules). stable is the stable Freight
// after this pass; lastRun the current collection's newest verification run.
func planRollback(s *haulv1.Stage, obs *observation, stable map[string]string, lastRun *haulv1.VerificationResult, now time.Time) *rollbackPlan {
	policy := obs.autoRollback
	if policy == nil || s.Spec.Paused || len(stable) == 0 {
		return nil
	}
	for _, p := range obs.promotions {
		if !p.Status.Phase.IsTerminal() {
			return nil // not settled: what is queued may fix it, or would fight a rollback
		}
	}
	recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) <= maxRollbackAge }

	// A verification of the current Freight that ended as the policy names.
	if lastRun != nil && lastRun.FinishedAt != nil && recent(lastRun.FinishedAt.Time) &&
		slices.Contains(verificationTriggers(policy), lastRun.Phase) && len(s.Status.FreightHistory) > 0 {
		cur := s.Status.FreightHistory[0]
		if brought := promotionNamed(obs, cur.Promotion); brought == nil || !promotion.IsRollback(brought) {
			// One origin at a time, in a fixed order; verification of the result
			// decides whether the next one goes back too.
			keys := make([]string, 0, len(cur.Items))
			for k := range cur.Items {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				item := cur.Items[k]
				to := stable[originKey(item.Origin)]
				if to == "" || to == item.Name || obs.freightByName[to] == nil {
					continue
				}
				return &rollbackPlan{stable: to, failed: item.Name, trigger: lastRun.ID,
					why: fmt.Sprintf("verification %s of Freight %s ended %s", lastRun.ID, orName(item.Alias, item.Name), lastRun.Phase)}
			}
		}
	}

	// The Stage's newest Promotion ended as the policy names.
	if n := len(obs.promotions); n > 0 && len(policy.OnPromotion) > 0 {
		p := obs.promotions[n-1]
		f := obs.freightByName[p.Spec.Freight]
		if f == nil || promotion.IsRollback(p) || !recent(finishedAt(p).Time) ||
			!slices.Contains(policy.OnPromotion, haulv1.RollbackPromotionPhase(p.Status.Phase)) {
			return nil
		}
		to := stable[originKey(f.Origin)]
		if to == "" || to == f.Name || obs.freightByName[to] == nil {
			return nil
		}
		return &rollbackPlan{stable: to, failed: f.Name, trigger: p.Name,
			why: fmt.Sprintf("Promotion %s of Freight %s ended %s", p.Name, orName(f.Alias, f.Name), p.Status.Phase)}
	}
	return nil
}

// verificationTriggers maps onVerification (Kargo's AnalysisRun spelling) to Haul's
// verification phases; empty means Failed.
func verificationTriggers(c *haulv1.AutoRollbackConfig) []haulv1.VerificationPhase {
	if len(c.OnVerification) == 0 {
		return []haulv1.VerificationPhase{haulv1.VerificationFailed}
	}
	var out []haulv1.VerificationPhase
	for _, p := range c.OnVerification {
		switch p {
		case "Failed":
			out = append(out, haulv1.VerificationFailed)
		case "Error":
			out = append(out, haulv1.VerificationErrored)
		}
	}
	return out
}

func promotionNamed(obs *observation, name string) *haulv1.Promotion {
	for _, p := range obs.promotions {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// rollBack creates the rollback Promotion plan describes. It exists already when an
// earlier pass made it (its name comes from the failure), which is success.
func (r *Reconciler) rollBack(ctx context.Context, s *haulv1.Stage, obs *observation, plan *rollbackPlan) (bool, error) {
	p := promotion.NewRollback(s, plan.stable, plan.failed, plan.trigger)
	switch err := r.Create(ctx, p); {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating the rollback of stage %s to freight %s: %w", s.Name, plan.stable, err)
	}
	to := plan.stable
	if f := obs.freightByName[to]; f != nil {
		to = orName(f.Alias, f.Name)
	}
	ctrl.LoggerFrom(ctx).Info("Created a rollback Promotion", "promotion", p.Name, "freight", plan.stable, "failed", plan.failed, "why", plan.why)
	r.Recorder.Eventf(s, corev1.EventTypeWarning, haulv1.ReasonAutoRollbackCreated,
		"%s; Promotion %s rolls the Stage back to its stable Freight %s", plan.why, p.Name, to)
	return true, nil
}
