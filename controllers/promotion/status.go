package promotion

import (
	"context"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// patchStatus re-reads the Promotion uncached, applies mutate and writes the status with
// optimistic concurrency, retrying on conflict. p is updated in place.
func (r *Reconciler) patchStatus(ctx context.Context, p *haulv1.Promotion, mutate func(*haulv1.PromotionStatus)) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &haulv1.Promotion{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil {
			return err
		}
		mutate(&cur.Status)
		cur.Status.ObservedGeneration = cur.Generation
		if err := r.Status().Update(ctx, cur); err != nil {
			return err
		}
		*p = *cur
		return nil
	})
}
