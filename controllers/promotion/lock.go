package promotion

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// A Stage admits one running Promotion at a time. The admission ticket is a Lease in the
// project namespace named after the Stage, labelled haul.dev/promotion-lock, whose
// holderIdentity names the Promotion that runs. This controller is its only writer; the
// Stage controller reads Promotions, never the Lease, and owns all of Stage.status
// (docs/design/0001-promotion-lock.md says why).
//
// The Lease has no duration: a holder is released by its own finalize, or taken over
// once the named Promotion no longer exists. Creating it uses AlreadyExists and updating
// it uses resourceVersion, so two workers (or two controller processes) racing for one
// Stage cannot both win.

// lockKey is the Lease guarding p's Stage.
func lockKey(p *haulv1.Promotion) client.ObjectKey {
	return client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Stage}
}

// lockHolderName reads the Stage's Lease and returns its holder ("" when free or
// absent) and the Lease (nil when absent). It reads from the cache: every write of the
// Lease names the resourceVersion (or, creating it, fails if it exists), so a stale
// copy costs a Conflict and a retry, never a second holder; and the watch that brings
// the cache up to date wakes the waiting Promotions.
func (r *Reconciler) lockHolderName(ctx context.Context, p *haulv1.Promotion) (string, *coordinationv1.Lease, error) {
	return r.readLock(ctx, r.Client, p)
}

// readLock is lockHolderName reading through reader.
func (r *Reconciler) readLock(ctx context.Context, reader client.Reader, p *haulv1.Promotion) (string, *coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	if err := reader.Get(ctx, lockKey(p), l); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil, nil
		}
		return "", nil, fmt.Errorf("reading the promotion lock of stage %s: %w", p.Spec.Stage, err)
	}
	if l.Spec.HolderIdentity == nil {
		return "", l, nil
	}
	return *l.Spec.HolderIdentity, l, nil
}

// lockSequence is the place of the lock's current holder in the order the Stage's
// Promotions took it: 1 for the first, then one more per transition.
func lockSequence(l *coordinationv1.Lease) int64 {
	if l == nil || l.Spec.LeaseTransitions == nil {
		return 1
	}
	return int64(*l.Spec.LeaseTransitions) + 1
}

// acquireLock makes p the holder of its Stage's Lease and returns p's sequence (see
// lockSequence). lease is the copy read just before (nil when there was none). A
// lost race returns a Conflict or AlreadyExists error, which callers retry after a
// fresh read.
func (r *Reconciler) acquireLock(ctx context.Context, stage *haulv1.Stage, p *haulv1.Promotion, lease *coordinationv1.Lease) (int64, error) {
	now := metav1.NewMicroTime(r.now())
	holder := p.Name
	if lease == nil {
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: p.Namespace, Name: p.Spec.Stage,
				Labels: map[string]string{labelPromotionLock: "true"},
				// Deleted with its Stage by the garbage collector.
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: haulv1.GroupVersion.String(), Kind: "Stage", Name: stage.Name, UID: stage.UID,
				}},
			},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, AcquireTime: &now},
		}
		return lockSequence(l), r.Create(ctx, l)
	}
	l := lease.DeepCopy()
	l.Spec.HolderIdentity, l.Spec.AcquireTime = &holder, &now
	transitions := int32(1)
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions + 1
	}
	l.Spec.LeaseTransitions = &transitions
	return lockSequence(l), r.Update(ctx, l)
}

// releaseLock frees the Stage's Lease if p holds it. released says whether this call
// freed it (false when p did not hold it, e.g. a finalize replayed after a restart).
func (r *Reconciler) releaseLock(ctx context.Context, p *haulv1.Promotion) (released bool, err error) {
	// The cache serves the common replay (a terminal Promotion that released long ago)
	// without a round trip, and the first attempt when it shows p holding the lock:
	// the update names the cached resourceVersion, so a stale copy conflicts and the
	// API server's copy is read. Anything else is asked of the API server: a
	// Promotion that finished just now may have taken (or created) the lock after the
	// cache's copy was made, and believing the cache there left the lock held by a
	// finished Promotion for good.
	var l *coordinationv1.Lease
	cached := &coordinationv1.Lease{}
	if err := r.Get(ctx, lockKey(p), cached); err == nil {
		switch {
		case cached.Spec.HolderIdentity != nil && *cached.Spec.HolderIdentity == p.Name:
			l = cached
		case finishedBefore(p, r.now().Add(-cacheLagBound)):
			return false, nil
		}
	}
	for range 5 {
		if l == nil {
			holder, fresh, err := r.readLock(ctx, r.APIReader, p)
			if err != nil || holder != p.Name {
				return false, err
			}
			l = fresh
		}
		l = l.DeepCopy()
		l.Spec.HolderIdentity, l.Spec.AcquireTime = nil, nil
		switch err := r.Update(ctx, l); {
		case err == nil:
			return true, nil
		case apierrors.IsNotFound(err):
			return false, nil
		case !apierrors.IsConflict(err):
			return false, fmt.Errorf("releasing the promotion lock of stage %s: %w", p.Spec.Stage, err)
		}
		l = nil
	}
	return false, fmt.Errorf("releasing the promotion lock of stage %s: still conflicting after 5 attempts", p.Spec.Stage)
}

// cacheLagBound is longer than the cache ever lags behind the API server: a lock
// read from the cache after it is this old is at least as new as any write of it
// made before then. A terminal holder that has not released the lock this long after
// it finished is taken over (lockHolder).
const cacheLagBound = time.Minute

// finishedBefore says whether p reached its final phase before t.
func finishedBefore(p *haulv1.Promotion, t time.Time) bool {
	return p.Status.FinishedAt != nil && p.Status.FinishedAt.Time.Before(t)
}

// labelPromotionLock marks the Leases that are Stage promotion locks.
const labelPromotionLock = haulv1.LabelPromotionLock
