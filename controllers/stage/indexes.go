package stage

import (
	"context"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"

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
// reaches the first Stage of a pipeline at once.
func (r *Reconciler) freightToStages(ctx context.Context, o client.Object) []reconcile.Request {
	f := o.(*haulv1.Freight)
	return r.stagesFor(ctx, f.Namespace, indexStageOrigin, f.Origin.String())
}

// freightHandler enqueues Stages for Freight events. A new or deleted Freight, or a
// change to what every Stage reads of it (alias, labels, annotations, metadata),
// concerns every Stage requesting its origin. A status change keyed by Stage —
// currentlyIn, verifiedIn, approvedFor, approvals for Stage X — concerns X and the
// Stages downstream of X only: without this, each of a thousand Stages recording
// that it holds one Freight would wake all thousand (a fan-out costing n² passes).
func (r *Reconciler) freightHandler() handler.TypedEventHandler[client.Object, reconcile.Request] {
	all := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range r.freightToStages(ctx, o) {
			q.Add(req)
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			oldF, ok1 := e.ObjectOld.(*haulv1.Freight)
			newF, ok2 := e.ObjectNew.(*haulv1.Freight)
			if !ok1 || !ok2 {
				all(ctx, e.ObjectNew, q)
				return
			}
			stages, everyone := changedStages(oldF, newF)
			if everyone {
				all(ctx, newF, q)
				return
			}
			for _, st := range stages {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: newF.Namespace, Name: st}})
				for _, req := range r.stagesFor(ctx, newF.Namespace, indexStageUpstream, st) {
					q.Add(req)
				}
			}
		},
	}
}

// changedStages compares two versions of a Freight: everyone is true when something
// every Stage of its origin reads changed; otherwise stages are the Stages whose
// entries in its status changed, sorted.
func changedStages(oldF, newF *haulv1.Freight) (stages []string, everyone bool) {
	if oldF.Alias != newF.Alias || !maps.Equal(oldF.Labels, newF.Labels) || !maps.Equal(oldF.Annotations, newF.Annotations) ||
		!oldF.DeletionTimestamp.Equal(newF.DeletionTimestamp) || !equality.Semantic.DeepEqual(oldF.Status.Metadata, newF.Status.Metadata) {
		return nil, true
	}
	set := map[string]bool{}
	diffKeys(set, oldF.Status.CurrentlyIn, newF.Status.CurrentlyIn)
	diffKeys(set, oldF.Status.VerifiedIn, newF.Status.VerifiedIn)
	diffKeys(set, oldF.Status.ApprovedFor, newF.Status.ApprovedFor)
	if !equality.Semantic.DeepEqual(oldF.Status.Approvals, newF.Status.Approvals) {
		for _, a := range oldF.Status.Approvals {
			set[a.Stage] = true
		}
		for _, a := range newF.Status.Approvals {
			set[a.Stage] = true
		}
	}
	return slices.Sorted(maps.Keys(set)), false
}

// diffKeys adds to set every key whose value differs between a and b, or that only
// one of them has.
func diffKeys[V any](set map[string]bool, a, b map[string]V) {
	for k, v := range a {
		if w, ok := b[k]; !ok || !equality.Semantic.DeepEqual(v, w) {
			set[k] = true
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			set[k] = true
		}
	}
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
