package stage

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// Field indexes the controller lists by.
const (
	// indexFreightOrigin indexes Freight by "Kind/name" of its origin.
	indexFreightOrigin = "stage.haul.dev/freight-origin"
	// indexPromotionStage indexes Promotions by spec.stage.
	indexPromotionStage = "stage.haul.dev/promotion-stage"
	// indexStageUpstream indexes Stages by each upstream Stage they request Freight from.
	indexStageUpstream = "stage.haul.dev/stage-upstream"
	// indexStageOrigin indexes Stages by each origin they request.
	indexStageOrigin = "stage.haul.dev/stage-origin"
)

func setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &haulv1.Freight{}, indexFreightOrigin, func(o client.Object) []string {
		return []string{o.(*haulv1.Freight).Origin.String()}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &haulv1.Promotion{}, indexPromotionStage, func(o client.Object) []string {
		return []string{o.(*haulv1.Promotion).Spec.Stage}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &haulv1.Stage{}, indexStageUpstream, func(o client.Object) []string {
		return pipeline.Upstreams(o.(*haulv1.Stage))
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &haulv1.Stage{}, indexStageOrigin, func(o client.Object) []string {
		var out []string
		for _, r := range o.(*haulv1.Stage).Spec.RequestedFreight {
			out = append(out, r.Origin.String())
		}
		return out
	})
}

// stagesFor lists the Stages matched by one index value, as reconcile requests.
func (r *Reconciler) stagesFor(ctx context.Context, ns, index, value string) []reconcile.Request {
	var list haulv1.StageList
	if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{index: value}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Stages to enqueue", "index", index, "value", value)
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// freightToStages maps a Freight to every Stage requesting its origin, so new Freight
// reaches the first Stage of a pipeline at once and verification ripples downstream.
func (r *Reconciler) freightToStages(ctx context.Context, o client.Object) []reconcile.Request {
	f := o.(*haulv1.Freight)
	return r.stagesFor(ctx, f.Namespace, indexStageOrigin, f.Origin.String())
}

// promotionToStage maps a Promotion to its Stage.
func (r *Reconciler) promotionToStage(_ context.Context, o client.Object) []reconcile.Request {
	p := o.(*haulv1.Promotion)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Stage}}}
}

// stageToDownstream maps a Stage to the Stages that take Freight from it (MatchUpstream
// and cycle detection depend on upstream Stages).
func (r *Reconciler) stageToDownstream(ctx context.Context, o client.Object) []reconcile.Request {
	return r.stagesFor(ctx, o.GetNamespace(), indexStageUpstream, o.GetName())
}

// projectConfigToStages maps a ProjectConfig to every Stage of its project.
func (r *Reconciler) projectConfigToStages(ctx context.Context, o client.Object) []reconcile.Request {
	var list haulv1.StageList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Stages to enqueue")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// clusterConfigToStages maps the ClusterConfig to every Stage of the cluster: its
// promotion windows may select any of them.
func (r *Reconciler) clusterConfigToStages(ctx context.Context, _ client.Object) []reconcile.Request {
	var list haulv1.StageList
	if err := r.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Stages to enqueue")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}
