package stage

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// reconcileFreight keeps the Freight records this Stage owns true: a control-flow Stage
// marks available Freight verified at once, and Freight that has left the Stage gets
// its longest continuous stay recorded as verifiedIn[stage].longestSoak. It returns how
// long until a soak elsewhere ends and some Freight becomes available here.
func (r *Reconciler) reconcileFreight(ctx context.Context, s *haulv1.Stage, obs *observation, now time.Time) (time.Duration, error) {
	var wait time.Duration
	control := isControlFlow(s)
	for _, list := range obs.freight {
		for _, f := range list {
			if control {
				if _, done := f.Status.VerifiedIn[s.Name]; !done {
					if ok, _ := pipeline.IsAvailable(f, s, now); ok {
						if err := r.markVerified(obs, f, s.Name, haulv1.VerifiedStage{VerifiedAt: &metav1.Time{Time: now}}); err != nil {
							return 0, err
						}
						continue
					}
				}
			}
			if left := pipeline.SoakRemaining(f, s, now); left > 0 && (wait == 0 || left < wait) {
				wait = left
			}
		}
	}
	for name, d := range soakRuns(s.Status.FreightHistory) {
		f := obs.freightByName[name]
		if f == nil {
			continue
		}
		v, verified := f.Status.VerifiedIn[s.Name]
		if !verified || (v.LongestSoak != nil && v.LongestSoak.Duration >= d) {
			continue
		}
		if err := r.markVerified(obs, f, s.Name, haulv1.VerifiedStage{LongestSoak: &metav1.Duration{Duration: d}}); err != nil {
			return 0, err
		}
	}
	return wait, nil
}

// markVerified merges v into Freight f's status.verifiedIn[stage], written at the end
// of the pass with the Freight's other changes (freightWrites).
func (r *Reconciler) markVerified(obs *observation, f *haulv1.Freight, stage string, v haulv1.VerifiedStage) error {
	if err := obs.writes.mergeVerified(f, stage, v); err != nil {
		return fmt.Errorf("recording freight %s verified in stage %s: %w", f.Name, stage, err)
	}
	return nil
}

// soakRuns computes, from a Stage's freight history (newest first), the longest
// finished continuous stay of each Freight that has since left the Stage. Stays still
// going are not included: availability measures those from currentlyIn.since.
func soakRuns(history []haulv1.FreightCollection) map[string]time.Duration {
	out := map[string]time.Duration{}
	start := map[string]time.Time{}
	for i := len(history) - 1; i >= 0; i-- {
		at := history[i].PromotedAt
		if at == nil {
			continue
		}
		for _, item := range history[i].Items {
			if _, running := start[item.Name]; !running {
				start[item.Name] = at.Time
			}
		}
		// A stay ends at the first newer collection that no longer holds the Freight.
		if i == 0 {
			break
		}
		next := history[i-1]
		if next.PromotedAt == nil {
			continue
		}
		for name, since := range start {
			if !holds(next, name) {
				if d := next.PromotedAt.Sub(since); d > out[name] {
					out[name] = d
				}
				delete(start, name)
			}
		}
	}
	return out
}

func holds(c haulv1.FreightCollection, name string) bool {
	for _, item := range c.Items {
		if item.Name == name {
			return true
		}
	}
	return false
}
