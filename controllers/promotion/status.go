package promotion

import (
	"context"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// patchStatus applies mutate to the Promotion's status and writes it with optimistic
// concurrency. It first tries with the copy in hand (usually current, since this
// controller wrote it last) and on a conflict re-reads uncached and retries. p is
// updated in place.
func (r *Reconciler) patchStatus(ctx context.Context, p *haulv1.Promotion, mutate func(*haulv1.PromotionStatus)) error {
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := p.DeepCopy()
		if !first {
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil {
				return err
			}
		}
		first = false
		mutate(&cur.Status)
		cur.Status.ObservedGeneration = cur.Generation
		if err := r.Status().Update(ctx, cur); err != nil {
			return err
		}
		*p = *cur
		return nil
	})
}
