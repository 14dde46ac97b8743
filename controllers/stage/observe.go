package stage

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// observation is what one reconcile pass read about the world around a Stage. Its
// Stages, Freight and Promotions are the informer cache's own objects: read only.
type observation struct {
	// stages are all Stages of the project by name.
	stages map[string]*haulv1.Stage
	// cycle is the upstream cycle the Stage is on, if any.
	cycle []string
	// autoPromotion mirrors the project's policy for this Stage.
	autoPromotion bool
	// autoRollback is the project policy's autoRollback for this Stage, nil when off.
	autoRollback *haulv1.AutoRollbackConfig
	// approvalRule is the Stage's approval requirement (its own or a project policy's),
	// nil when it has none.
	approvalRule *haulv1.ApprovalRequirement
	// windows are the promotion windows (project and cluster) that select the Stage.
	windows []haulv1.PromotionWindow
	// freight holds the Freight of each requested origin.
	freight map[haulv1.FreightOrigin][]*haulv1.Freight
	// freightByName indexes the same Freight by name.
	freightByName map[string]*haulv1.Freight
	// promotions are this Stage's Promotions in queue order (creation time, then name).
	promotions []*haulv1.Promotion
	// writes collects the pass's Freight status changes, sent once at its end.
	writes freightWrites
}

// isControlFlow says whether s only routes Freight: no steps and no legacy mechanisms.
func isControlFlow(s *haulv1.Stage) bool {
	noSteps := s.Spec.PromotionTemplate == nil || len(s.Spec.PromotionTemplate.Spec.Steps) == 0
	noMech := s.Spec.PromotionMechanisms == nil ||
		len(s.Spec.PromotionMechanisms.GitRepoUpdates)+len(s.Spec.PromotionMechanisms.ArgoCDAppUpdates) == 0
	return noSteps && noMech
}

func (r *Reconciler) observe(ctx context.Context, s *haulv1.Stage) (*observation, error) {
	obs := &observation{
		stages:        map[string]*haulv1.Stage{},
		freight:       map[haulv1.FreightOrigin][]*haulv1.Freight{},
		freightByName: map[string]*haulv1.Freight{},
	}
	var stages haulv1.StageList
	// Cached objects are shared, not copied (a pass reads every Stage and Freight of the
	// project); anything written is deep-copied first.
	if err := r.List(ctx, &stages, client.InNamespace(s.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing stages: %w", err)
	}
	all := make([]haulv1.Stage, 0, len(stages.Items)+1)
	for i := range stages.Items {
		if stages.Items[i].Name != s.Name {
			all = append(all, stages.Items[i])
			obs.stages[stages.Items[i].Name] = &stages.Items[i]
		}
	}
	all = append(all, *s)
	obs.stages[s.Name] = s
	obs.cycle = pipeline.FindCycle(all)[s.Name]
	if obs.cycle != nil {
		return obs, nil
	}

	cfg := &haulv1.ProjectConfig{}
	var err error
	switch err = r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Namespace}, cfg); {
	case apierrors.IsNotFound(err):
		cfg = nil
	case err != nil:
		return nil, fmt.Errorf("reading projectconfig %s: %w", s.Namespace, err)
	}
	obs.autoPromotion = pipeline.AutoPromotionEnabled(cfg, s)
	obs.approvalRule = pipeline.ApprovalRuleFor(cfg, s)
	obs.autoRollback = pipeline.AutoRollbackFor(cfg, s)
	if obs.windows, err = r.windowsFor(ctx, cfg, s); err != nil {
		return nil, err
	}

	for _, req := range s.Spec.RequestedFreight {
		var list haulv1.FreightList
		if err := r.List(ctx, &list, client.InNamespace(s.Namespace), client.UnsafeDisableDeepCopy,
			client.MatchingFields{indexFreightOrigin: req.Origin.String()}); err != nil {
			return nil, fmt.Errorf("listing freight from %s: %w", req.Origin, err)
		}
		for i := range list.Items {
			f := &list.Items[i]
			obs.freight[req.Origin] = append(obs.freight[req.Origin], f)
			obs.freightByName[f.Name] = f
		}
	}

	var promos haulv1.PromotionList
	if err := r.List(ctx, &promos, client.InNamespace(s.Namespace), client.UnsafeDisableDeepCopy,
		client.MatchingFields{indexPromotionStage: s.Name}); err != nil {
		return nil, fmt.Errorf("listing promotions of stage %s: %w", s.Name, err)
	}
	for i := range promos.Items {
		obs.promotions = append(obs.promotions, &promos.Items[i])
	}
	sort.SliceStable(obs.promotions, func(i, j int) bool { return promotion.QueueLess(obs.promotions[i], obs.promotions[j]) })
	return obs, nil
}

// windowsFor reads the cluster's ClusterConfig and the Stage's Project (for a
// projectSelector's labels) and returns the promotion windows that select s.
func (r *Reconciler) windowsFor(ctx context.Context, cfg *haulv1.ProjectConfig, s *haulv1.Stage) ([]haulv1.PromotionWindow, error) {
	cc := &haulv1.ClusterConfig{}
	switch err := r.Get(ctx, client.ObjectKey{Name: haulv1.ClusterConfigName}, cc); {
	case apierrors.IsNotFound(err):
		cc = nil
	case err != nil:
		return nil, fmt.Errorf("reading clusterconfig: %w", err)
	}
	var project *haulv1.Project
	if cc != nil && len(cc.Spec.PromotionWindows) > 0 {
		project = &haulv1.Project{}
		if err := r.Get(ctx, client.ObjectKey{Name: s.Namespace}, project); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading project %s: %w", s.Namespace, err)
			}
			project = nil
		}
	}
	return pipeline.WindowsFor(cfg, cc, project, s), nil
}
