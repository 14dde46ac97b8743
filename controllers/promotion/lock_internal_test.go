package promotion

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// lockWorld is an API server (a fake client holding the truth) and a cache that
// still shows the Stage's lock as free, as a cache does just after another write.
func lockWorld(t *testing.T, holder *haulv1.Promotion, objs ...client.Object) (*Reconciler, client.Client) {
	return lockWorldWith(t, holder, false, objs...)
}

// lockWorldWith is lockWorld; with unseen the cache has not seen the Lease at all, as
// after the first Promotion of a Stage created it.
func lockWorldWith(t *testing.T, holder *haulv1.Promotion, unseen bool, objs ...client.Object) (*Reconciler, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = haulv1.AddToScheme(s)
	name := holder.Name
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "s", Labels: map[string]string{labelPromotionLock: "true"}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name},
	}
	truth := fake.NewClientBuilder().WithScheme(s).WithObjects(append(objs, lease)...).Build()
	staleCache := interceptor.NewClient(truth, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if l, ok := obj.(*coordinationv1.Lease); ok {
				if unseen {
					return apierrors.NewNotFound(coordinationv1.Resource("leases"), key.Name)
				}
				if err := c.Get(ctx, key, l, opts...); err != nil {
					return err
				}
				l.Spec.HolderIdentity = nil // the cache has not seen the acquisition yet
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
	return &Reconciler{Client: staleCache, APIReader: truth}, truth
}

func holderIn(t *testing.T, c client.Client) string {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "p", Name: "s"}, l); err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func finished(name string, at time.Time) *haulv1.Promotion {
	return &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: name},
		Spec:       haulv1.PromotionSpec{Stage: "s", Freight: "f"},
		Status:     haulv1.PromotionStatus{Phase: haulv1.PromotionSucceeded, FinishedAt: &metav1.Time{Time: at}},
	}
}

// TestAPromotionJustFinishedReleasesTheLockTheCacheHasNotSeenItTake: a quick
// Promotion finishes before the cache has seen it take its Stage's lock. Believing the
// cache ("not yours") left the lock held by a finished Promotion, and the Stage's next
// Promotion waited for good (seen in the 10,000-Promotion benchmark).
func TestAPromotionJustFinishedReleasesTheLockTheCacheHasNotSeenItTake(t *testing.T) {
	p := finished("p1", time.Now())
	r, truth := lockWorld(t, p)
	released, err := r.releaseLock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !released || holderIn(t, truth) != "" {
		t.Fatalf("released=%v, the lock is held by %q: the release believed the stale cache", released, holderIn(t, truth))
	}
	// Nor when the cache has not seen the Lease at all (the Stage's first Promotion
	// created it).
	first := finished("p1", time.Now())
	r1, truth1 := lockWorldWith(t, first, true)
	if released, err := r1.releaseLock(context.Background(), first); err != nil || !released || holderIn(t, truth1) != "" {
		t.Fatalf("with the Lease not yet cached: released=%v (%v), held by %q", released, err, holderIn(t, truth1))
	}
	// A replay long after (a restart) trusts the cache and costs no round trip.
	old := finished("p0", time.Now().Add(-time.Hour))
	r2, truth2 := lockWorld(t, old)
	if released, _ := r2.releaseLock(context.Background(), old); released || holderIn(t, truth2) != "p0" {
		t.Fatalf("an old replay released=%v holder=%q; want it to trust the cache", released, holderIn(t, truth2))
	}
}

// TestALockLeftByALongFinishedPromotionIsTakenOver: should a release still be lost, a
// holder that finished more than cacheLagBound ago no longer blocks its Stage.
func TestALockLeftByALongFinishedPromotionIsTakenOver(t *testing.T) {
	old := finished("p0", time.Now().Add(-2*cacheLagBound))
	recent := finished("p1", time.Now())
	r, _ := lockWorld(t, old, old, recent)
	if got, err := r.lockHolder(context.Background(), "p", "p0"); err != nil || got != holderGone {
		t.Fatalf("a holder finished %v ago: state %v (%v), want holderGone", 2*cacheLagBound, got, err)
	}
	if got, err := r.lockHolder(context.Background(), "p", "p1"); err != nil || got != holderFinishing {
		t.Fatalf("a holder that just finished: state %v (%v), want holderFinishing", got, err)
	}
}
