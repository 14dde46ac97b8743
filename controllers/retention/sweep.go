package retention

import (
	"context"
	"fmt"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
)

// sweepPromotions deletes, per Stage, the terminal Promotions beyond the newest
// PromotionsPerStage. A Promotion that is not terminal, or that a Stage names (current,
// last, or in its freight history, where its health checks and links are read), is
// never deleted and does not count against the limit's deletions. Each Stage's records
// are archived before its Promotions are deleted; a failed archive deletes nothing.
func (r *Reconciler) sweepPromotions(ctx context.Context, s *scope) error {
	keep := s.policy.PromotionsPerStage
	if keep == 0 {
		return nil
	}
	named := map[string]bool{}
	for i := range s.stages {
		st := &s.stages[i].Status
		if st.CurrentPromotion != nil {
			named[st.CurrentPromotion.Name] = true
		}
		if st.LastPromotion != nil {
			named[st.LastPromotion.Name] = true
		}
		for _, h := range st.FreightHistory {
			if h.Promotion != "" {
				named[h.Promotion] = true
			}
		}
	}
	byStage := map[string][]*haulv1.Promotion{}
	for i := range s.promotions {
		p := &s.promotions[i]
		if p.Status.Phase.IsTerminal() && p.DeletionTimestamp.IsZero() {
			byStage[p.Spec.Stage] = append(byStage[p.Spec.Stage], p)
		}
	}
	stages := make([]string, 0, len(byStage))
	for st := range byStage {
		stages = append(stages, st)
	}
	sort.Strings(stages)
	for _, stage := range stages {
		ps := byStage[stage]
		if len(ps) <= keep {
			continue
		}
		sort.SliceStable(ps, func(i, j int) bool { return newerPromotion(ps[i], ps[j]) })
		var gone []*haulv1.Promotion
		for _, p := range ps[keep:] {
			if !named[p.Name] {
				gone = append(gone, p)
			}
		}
		if len(gone) == 0 {
			continue
		}
		if err := r.archive(ctx, s.ns, stage, gone); err != nil {
			return err
		}
		objs := make([]client.Object, len(gone))
		for i, p := range gone {
			objs[i] = p
		}
		names, err := r.deleteEach(ctx, "Promotion", objs)
		s.result.Promotions = append(s.result.Promotions, names...)
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteWorkers bounds the deletions a sweep has in flight: one at a time, a project
// making Promotions faster than a sweep deletes them (a busy API server answers a
// delete in tens of milliseconds) would fall behind for good.
const deleteWorkers = 8

// deleteEach deletes objs (each only if it is still the object read, by UID), up to
// deleteWorkers at once, and returns the names deleted or already gone. The first
// error stops it.
func (r *Reconciler) deleteEach(ctx context.Context, kind string, objs []client.Object) ([]string, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(deleteWorkers)
	deleted := make([]bool, len(objs))
	for i, o := range objs {
		g.Go(func() error {
			uid := o.GetUID()
			if err := r.Delete(gctx, o, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
			}
			metrics.RetentionDeleted.WithLabelValues(kind).Inc()
			deleted[i] = true
			return nil
		})
	}
	err := g.Wait()
	var names []string
	for i, ok := range deleted {
		if ok {
			names = append(names, objs[i].GetName())
		}
	}
	return names, err
}

// newerPromotion orders a Stage's Promotions newest first: by the lock's sequence,
// then by when they finished, then by when they were created.
func newerPromotion(a, b *haulv1.Promotion) bool {
	if a.Status.Sequence != b.Status.Sequence {
		return a.Status.Sequence > b.Status.Sequence
	}
	if fa, fb := a.Status.FinishedAt, b.Status.FinishedAt; fa != nil && fb != nil && !fa.Equal(fb) {
		return fb.Before(fa)
	}
	return createdAt(a).After(createdAt(b))
}

// createdAt is when an object was made: the nanosecond haul.dev/created-at annotation
// when it parses, else creationTimestamp.
func createdAt(o client.Object) time.Time {
	if v, ok := o.GetAnnotations()[haulv1.AnnotationCreatedAt]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return o.GetCreationTimestamp().Time
}

// sweepFreight deletes Freight that is older than MinFreightAge, not among the newest
// FreightPerWarehouse of its Warehouse, and not in use: held by a Stage (currentlyIn
// or the Stage's current freight history entry), referenced by a Promotion that has
// not finished, or verified or approved in some Stage within MinFreightAge (still a
// candidate for a downstream promotion).
func (r *Reconciler) sweepFreight(ctx context.Context, s *scope) error {
	keep := s.policy.FreightPerWarehouse
	if keep == 0 {
		return nil
	}
	inUse := map[string]bool{}
	for i := range s.stages {
		if h := s.stages[i].Status.FreightHistory; len(h) > 0 {
			for _, ref := range h[0].Items {
				inUse[ref.Name] = true
			}
		}
	}
	for i := range s.promotions {
		if p := &s.promotions[i]; !p.Status.Phase.IsTerminal() {
			inUse[p.Spec.Freight] = true
		}
	}
	byOrigin := map[string][]*haulv1.Freight{}
	for i := range s.freight {
		f := &s.freight[i]
		if f.DeletionTimestamp.IsZero() {
			byOrigin[f.Origin.Name] = append(byOrigin[f.Origin.Name], f)
		}
	}
	origins := make([]string, 0, len(byOrigin))
	for o := range byOrigin {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	cutoff := s.now.Add(-s.policy.MinFreightAge)
	for _, origin := range origins {
		fs := byOrigin[origin]
		if len(fs) <= keep {
			continue
		}
		sort.SliceStable(fs, func(i, j int) bool { return createdAt(fs[i]).After(createdAt(fs[j])) })
		var gone []client.Object
		for _, f := range fs[keep:] {
			if inUse[f.Name] || len(f.Status.CurrentlyIn) > 0 || !createdAt(f).Before(cutoff) || recentlyVetted(f, cutoff) {
				continue
			}
			gone = append(gone, f)
		}
		names, err := r.deleteEach(ctx, "Freight", gone)
		s.result.Freight = append(s.result.Freight, names...)
		if err != nil {
			return err
		}
	}
	return nil
}

// recentlyVetted says whether the Freight was verified or approved in some Stage at or
// after cutoff (a verification without a time counts as recent).
func recentlyVetted(f *haulv1.Freight, cutoff time.Time) bool {
	for _, v := range f.Status.VerifiedIn {
		if v.VerifiedAt == nil || !v.VerifiedAt.Time.Before(cutoff) {
			return true
		}
	}
	for _, a := range f.Status.ApprovedFor {
		if a.ApprovedAt == nil || !a.ApprovedAt.Time.Before(cutoff) {
			return true
		}
	}
	return false
}
