package promotion

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/shard"
)

// followStageShard keeps a Promotion with its Stage's shard. A Promotion whose
// haul.dev/shard label disagrees with its Stage's (made with kubectl, or its Stage moved
// shards) is relabelled to the Stage's: the label change takes it out of this shard's
// cache and into the Stage's shard's, whose controller runs it. When this process
// runs one shard (Options.Sharded), it leaves every Promotion of another shard's Stage
// alone (a reconcile queued before the relabel reads the Promotion fresh). A Promotion
// that has started stays where it is: its work dir, Git work trees and the Stage lock
// are this process's. skip says this controller must not run it now.
func (r *Reconciler) followStageShard(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage) (skip bool, err error) {
	want, have := shard.Of(stage.Labels), shard.Of(p.Labels)
	started := p.Status.Phase != "" && p.Status.Phase != haulv1.PromotionPending
	if started {
		return false, nil
	}
	if want != have {
		if err := r.relabel(ctx, p, want); err != nil {
			return false, fmt.Errorf("moving Promotion %s to the shard of Stage %s: %w", p.Name, stage.Name, err)
		}
		ctrl.LoggerFrom(ctx).Info("Handed Promotion to its Stage's shard", "stage", stage.Name, "from", shardName(have), "to", shardName(want))
		return true, nil
	}
	return r.Sharded && want != r.Shard, nil
}

// relabel sets (or, for the default shard, removes) p's shard label, guarded by its
// resourceVersion.
func (r *Reconciler) relabel(ctx context.Context, p *haulv1.Promotion, to string) error {
	var value any // null removes the label
	if to != "" {
		value = to
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": p.ResourceVersion,
		"labels":          map[string]any{shard.Label: value},
	}})
	if err != nil {
		return err
	}
	return r.Patch(ctx, p, client.RawPatch(types.MergePatchType, patch))
}

// shardName renders a shard for logs and Events.
func shardName(s string) string {
	if s == "" {
		return "default"
	}
	return s
}
