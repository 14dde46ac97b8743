package stage

import (
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// maxFreightHistory is how many FreightCollections a Stage keeps.
const maxFreightHistory = 10

// promotionRecord is what a Stage's own Promotions say about it. The Promotion
// controller runs them and writes only Promotion.status (and the Stage's lock Lease);
// this controller turns their outcome into Stage.status and Freight.status.currentlyIn,
// so each status has one writer.
type promotionRecord struct {
	// current is the Promotion running now, if any.
	current *haulv1.PromotionReference
	// last is the most recently finished Promotion (kept from status when the
	// Promotion object has since been deleted).
	last *haulv1.PromotionReference
	// succeeded are the successful Promotions not yet in the freight history, oldest first.
	succeeded []*haulv1.Promotion
}

// recordPromotions reads the Stage's Promotions (obs.promotions, queue order) against
// its status.
func recordPromotions(s *haulv1.Stage, promos []*haulv1.Promotion) promotionRecord {
	var rec promotionRecord
	var last *haulv1.Promotion
	var newest *haulv1.Promotion
	if h := s.Status.FreightHistory; len(h) > 0 {
		for _, p := range promos {
			if p.Name == h[0].Promotion {
				newest = p
			}
		}
	}
	for _, p := range promos {
		switch {
		case p.Status.Phase == haulv1.PromotionRunning:
			if rec.current == nil {
				rec.current = reference(p)
			}
		case p.Status.Phase.IsTerminal():
			if last == nil || finishedBefore(last, p) {
				last = p
			}
			if p.Status.Phase == haulv1.PromotionSucceeded && p.Status.Freight != nil &&
				!inHistory(s.Status.FreightHistory, p.Name) && newerThanHistory(s.Status.FreightHistory, newest, p) {
				rec.succeeded = append(rec.succeeded, p)
			}
		}
	}
	rec.last = s.Status.LastPromotion
	if last != nil && (rec.last == nil || rec.last.Name == last.Name || !finishedAfterRef(rec.last, last)) {
		rec.last = reference(last)
	}
	sort.SliceStable(rec.succeeded, func(i, j int) bool { return finishedBefore(rec.succeeded[i], rec.succeeded[j]) })
	return rec
}

// apply writes the record into s: the Promotion references and the new collections.
// Applied again to a fresh copy after a write conflict, it adds no collection twice.
func (rec promotionRecord) apply(s *haulv1.Stage) {
	s.Status.CurrentPromotion = rec.current
	s.Status.LastPromotion = rec.last
	for _, p := range rec.succeeded {
		if !inHistory(s.Status.FreightHistory, p.Name) {
			s.Status.FreightHistory = recordHistory(s.Status.FreightHistory, p)
		}
	}
}

func reference(p *haulv1.Promotion) *haulv1.PromotionReference {
	ref := &haulv1.PromotionReference{Name: p.Name, Freight: p.Spec.Freight, Phase: p.Status.Phase, FinishedAt: p.Status.FinishedAt}
	// While it waits for a review, the Stage shows the pull request.
	if pr := p.Status.WaitingPullRequest(); pr != nil {
		ref.PullRequest = pr.DeepCopy()
	}
	if p.Status.Freight != nil {
		ref.FreightAlias = p.Status.Freight.Alias
	}
	return ref
}

// finishedBefore orders terminal Promotions by finish time. Times have one-second
// resolution, so ties fall back to queue order: a Stage runs its Promotions one at a
// time in that order.
func finishedBefore(a, b *haulv1.Promotion) bool {
	// The lock counts starts, and one Promotion runs at a time: that is the order.
	if sa, sb := a.Status.Sequence, b.Status.Sequence; sa > 0 && sb > 0 && sa != sb {
		return sa < sb
	}
	ta, tb := finishedAt(a), finishedAt(b)
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return promotion.QueueLess(a, b)
}

func finishedAt(p *haulv1.Promotion) metav1.Time {
	if p.Status.FinishedAt != nil {
		return *p.Status.FinishedAt
	}
	return metav1.Time{}
}

// finishedAfterRef says whether the recorded reference finished after p.
func finishedAfterRef(ref *haulv1.PromotionReference, p *haulv1.Promotion) bool {
	if ref.FinishedAt == nil {
		return false
	}
	t := finishedAt(p)
	return t.Before(ref.FinishedAt)
}

func inHistory(h []haulv1.FreightCollection, promotion string) bool {
	for _, c := range h {
		if c.Promotion == promotion {
			return true
		}
	}
	return false
}

// newerThanHistory says whether p finished after the newest collection in the history
// (whose Promotion is newest, when it still exists). Older successes that fell off the
// end of the history are not brought back.
func newerThanHistory(h []haulv1.FreightCollection, newest, p *haulv1.Promotion) bool {
	if len(h) == 0 {
		return true
	}
	if newest != nil {
		return finishedBefore(newest, p)
	}
	if h[0].PromotedAt == nil {
		return true
	}
	t := finishedAt(p)
	return !t.Before(h[0].PromotedAt)
}

// recordHistory prepends the collection p brought into the Stage: its Freight plus the
// current Freight of the Stage's other origins.
func recordHistory(h []haulv1.FreightCollection, p *haulv1.Promotion) []haulv1.FreightCollection {
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
	at := finishedAt(p)
	fc := haulv1.FreightCollection{ID: strings.Join(names, ","), Items: items, PromotedAt: &at, Promotion: p.Name}
	out := append([]haulv1.FreightCollection{fc}, h...)
	if len(out) > maxFreightHistory {
		out = out[:maxFreightHistory]
	}
	return out
}

// reconcileCurrentlyIn makes Freight.status.currentlyIn[stage] true of exactly the
// Freight in the Stage's newest collection: set (since its promotion) where missing,
// removed from Freight that has left. The changes join the pass's Freight writes
// (obs.writes); a settled Stage adds none.
func reconcileCurrentlyIn(s *haulv1.Stage, obs *observation) {
	in := map[string]*metav1.Time{}
	if h := s.Status.FreightHistory; len(h) > 0 {
		for _, item := range h[0].Items {
			in[item.Name] = entered(h, item.Name)
		}
	}
	for _, list := range obs.freight {
		for _, f := range list {
			_, marked := f.Status.CurrentlyIn[s.Name]
			since, want := in[f.Name]
			switch {
			case want && !marked:
				obs.writes.setCurrentlyIn(f, s.Name, &haulv1.CurrentStage{Since: since})
			case !want && marked:
				obs.writes.setCurrentlyIn(f, s.Name, nil)
			}
		}
	}
}

// entered is when Freight name's current stay in the Stage began: the promotion time of
// the oldest collection in the unbroken run of collections that hold it.
func entered(h []haulv1.FreightCollection, name string) *metav1.Time {
	var since *metav1.Time
	for _, c := range h {
		if !holds(c, name) {
			break
		}
		since = c.PromotedAt
	}
	return since
}

// originKey keys a collection's items by origin; an origin without a kind is a Warehouse.
func originKey(o haulv1.FreightOrigin) string {
	if o.Kind == "" {
		o.Kind = haulv1.FreightOriginKindWarehouse
	}
	return o.String()
}
