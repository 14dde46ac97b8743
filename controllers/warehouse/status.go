package warehouse

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// patchStatus writes st if it differs from what wh holds, with an optimistic lock; on
// a conflict it re-reads the Warehouse and tries again. Nothing is written when the
// status is unchanged, so a quiet poll costs the API server nothing.
func (r *Reconciler) patchStatus(ctx context.Context, wh *haulv1.Warehouse, st *haulv1.WarehouseStatus) error {
	if equality.Semantic.DeepEqual(&wh.Status, st) {
		return nil
	}
	cur := wh
	first := true
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !first {
			fresh := &haulv1.Warehouse{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(wh), fresh); err != nil {
				return err
			}
			cur = fresh
			if equality.Semantic.DeepEqual(&cur.Status, st) {
				return nil
			}
		}
		first = false
		base := cur.DeepCopy()
		next := cur.DeepCopy()
		next.Status = *st.DeepCopy()
		return r.Status().Patch(ctx, next, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return fmt.Errorf("patching status of Warehouse %s: %w", wh.Name, err)
	}
	return nil
}
