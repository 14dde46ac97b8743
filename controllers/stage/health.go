package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion/steps"
)

// healthCheckers assess the health checks steps leave behind, by the step's name.
var healthCheckers = map[string]steps.HealthFunc{
	"argocd-update":  steps.ArgoCDHealth,
	"argocd-wait":    steps.ArgoCDHealth,
	"flux-reconcile": steps.FluxHealth,
}

// healthRank orders states from best to worst; a Stage is as healthy as its worst check.
var healthRank = map[haulv1.HealthState]int{
	haulv1.HealthHealthy:     0,
	haulv1.HealthProgressing: 1,
	haulv1.HealthUnknown:     2,
	haulv1.HealthUnhealthy:   3,
}

// assessHealth re-assesses the health checks left by the Promotion that brought the
// current Freight. nil means the Stage holds nothing to assess.
func (r *Reconciler) assessHealth(ctx context.Context, s *haulv1.Stage, _ *observation) *haulv1.Health {
	if isControlFlow(s) || len(s.Status.FreightHistory) == 0 {
		r.watched.forget(client.ObjectKeyFromObject(s))
		return nil
	}
	name := s.Status.FreightHistory[0].Promotion
	if name == "" {
		return &haulv1.Health{Status: haulv1.HealthNotApplicable}
	}
	p := &haulv1.Promotion{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, p); err != nil {
		return &haulv1.Health{Status: haulv1.HealthUnknown, Issues: []string{fmt.Sprintf("reading promotion %s: %v", name, client.IgnoreNotFound(err))}}
	}
	if len(p.Status.HealthChecks) == 0 {
		r.watched.forget(client.ObjectKeyFromObject(s))
		return &haulv1.Health{Status: haulv1.HealthNotApplicable}
	}
	out := &haulv1.Health{Status: haulv1.HealthHealthy}
	var objects []steps.ObjectRef
	for i, hc := range p.Status.HealthChecks {
		check, ok := healthCheckers[hc.Uses]
		if !ok {
			worsen(out, haulv1.HealthUnknown, fmt.Sprintf("healthChecks[%d]: no health check for step %q", i, hc.Uses))
			continue
		}
		cfg := map[string]any{}
		if hc.Config != nil && len(hc.Config.Raw) > 0 {
			if err := json.Unmarshal(hc.Config.Raw, &cfg); err != nil {
				worsen(out, haulv1.HealthUnknown, fmt.Sprintf("healthChecks[%d]: %v", i, err))
				continue
			}
		}
		res := check(ctx, r.reconcilers(), cfg)
		if hc.Uses == "flux-reconcile" {
			res = r.withFluxInventory(ctx, cfg, res)
		}
		objects = append(objects, res.Objects...)
		for _, issue := range res.Issues {
			worsen(out, res.Status, issue)
		}
		worsen(out, res.Status, "")
	}
	r.watched.set(client.ObjectKeyFromObject(s), objects)
	return out
}

func worsen(h *haulv1.Health, st haulv1.HealthState, issue string) {
	if healthRank[st] > healthRank[h.Status] {
		h.Status = st
	}
	if issue != "" {
		h.Issues = append(h.Issues, issue)
	}
}

// watchSet maps reconciler objects to the Stages whose health depends on them.
type watchSet struct {
	mu      sync.Mutex
	byObj   map[steps.ObjectRef]map[client.ObjectKey]struct{}
	byStage map[client.ObjectKey][]steps.ObjectRef
}

func (w *watchSet) set(stage client.ObjectKey, objs []steps.ObjectRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetLocked(stage)
	if w.byObj == nil {
		w.byObj = map[steps.ObjectRef]map[client.ObjectKey]struct{}{}
		w.byStage = map[client.ObjectKey][]steps.ObjectRef{}
	}
	for _, o := range objs {
		if w.byObj[o] == nil {
			w.byObj[o] = map[client.ObjectKey]struct{}{}
		}
		w.byObj[o][stage] = struct{}{}
	}
	w.byStage[stage] = objs
}

func (w *watchSet) forget(stage client.ObjectKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetLocked(stage)
}

func (w *watchSet) forgetLocked(stage client.ObjectKey) {
	for _, o := range w.byStage[stage] {
		delete(w.byObj[o], stage)
		if len(w.byObj[o]) == 0 {
			delete(w.byObj, o)
		}
	}
	delete(w.byStage, stage)
}

func (w *watchSet) stagesOf(o steps.ObjectRef) []reconcile.Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []reconcile.Request
	for k := range w.byObj[o] {
		out = append(out, reconcile.Request{NamespacedName: k})
	}
	return out
}

// watchReconcilers watches Argo CD Applications and Flux objects when their CRDs are
// installed, so a Stage's health follows them without polling.
func watchReconcilers(mgr ctrl.Manager, cl cluster.Cluster, b *builder.TypedBuilder[reconcile.Request], r *Reconciler) *builder.TypedBuilder[reconcile.Request] {
	log := mgr.GetLogger().WithName("stage")
	for _, gvk := range steps.WatchedKinds() {
		if _, err := cl.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			log.V(1).Info("Not watching a reconciler kind: its CRD is not installed", "kind", gvk.String())
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		kind := gvk.GroupKind()
		toStages := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return r.watched.stagesOf(steps.ObjectRef{GroupKind: kind, Namespace: o.GetNamespace(), Name: o.GetName()})
		})
		if cl == mgr {
			b = b.Watches(u, toStages, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
			continue
		}
		b = b.WatchesRawSource(source.Kind[client.Object](cl.GetCache(), u, toStages, predicate.ResourceVersionChangedPredicate{}))
	}
	return b
}

// reconcilerCluster is the cluster whose Argo CD and Flux objects health checks watch:
// the manager's, or, with a separate reconciler kubeconfig, a cluster the manager
// starts (its cache holds only the watched kinds).
func reconcilerCluster(mgr ctrl.Manager, cfg *rest.Config) (cluster.Cluster, error) {
	if cfg == nil {
		return mgr, nil
	}
	cl, err := cluster.New(cfg, func(o *cluster.Options) { o.Scheme = mgr.GetScheme() })
	if err != nil {
		return nil, fmt.Errorf("stage controller: connecting to the reconciler cluster: %w", err)
	}
	if err := mgr.Add(cl); err != nil {
		return nil, fmt.Errorf("stage controller: adding the reconciler cluster: %w", err)
	}
	return cl, nil
}

// reconcilers is the client of the cluster where Argo CD and Flux run.
func (r *Reconciler) reconcilers() dynamic.Interface {
	if r.Reconcilers != nil {
		return r.Reconcilers
	}
	return r.Dynamic
}
