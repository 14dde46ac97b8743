package promotion

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// MsgNotAvailable is the message of a Promotion refused because its Freight is not
// available to the Stage.
const MsgNotAvailable = "Freight is not available to this Stage"

// start checks the Freight, snapshots steps, vars and Freight into the status and runs.
func (r *Reconciler) start(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage, seq int64) (ctrl.Result, error) {
	// Freight content is immutable, so the cached copy serves unless it says no: then
	// the API server decides (the cache may not have seen a new Freight or approval yet).
	key := client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Freight}
	f := &haulv1.Freight{}
	ok, why := false, ""
	if err := r.Get(ctx, key, f); err == nil {
		ok, why = pipeline.IsAvailable(f, stage, r.now())
	}
	if !ok {
		if err := r.APIReader.Get(ctx, key, f); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, fmt.Sprintf("Freight %q does not exist", p.Spec.Freight))
			}
			return ctrl.Result{}, err
		}
		ok, why = pipeline.IsAvailable(f, stage, r.now())
	}
	if !ok {
		msg := MsgNotAvailable
		if why != "" {
			msg += ": " + why
		}
		return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, msg)
	}
	steps, templateVars, err := stageSteps(stage)
	if err != nil {
		return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, err.Error())
	}
	vars := promotion.MergeVars(stage.Spec.Vars, templateVars, p.Spec.Vars)
	expanded, err := promotion.ExpandTasks(ctx, steps, vars, r.taskGetter(p.Namespace))
	if err != nil {
		return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, err.Error())
	}
	startedAt := metav1.Time{Time: r.now()}
	ref := haulv1.FreightReference{
		Name: f.Name, Alias: f.Alias, Origin: f.Origin,
		Images: f.Images, Commits: f.Commits, Charts: f.Charts,
	}
	// The snapshot goes out with the first background status write, while the first
	// step runs: until it lands the Promotion looks Pending, and a crash before that
	// starts it again from the first step (the Stage's lock is already its own).
	begin := func(st *haulv1.PromotionStatus) {
		st.Phase = haulv1.PromotionRunning
		st.Message = "running"
		st.StartedAt = &startedAt
		st.Sequence = seq
		st.Freight = &ref
		st.Steps = expanded
		st.Vars = vars
		st.CurrentStep = 0
		st.StepExecutionMetadata = nil
		st.State = nil
		st.HealthChecks = nil
	}
	begin(&p.Status)
	return r.run(ctx, p, stage, begin)
}

// stageSteps returns the steps and template vars a Promotion of the Stage runs.
func stageSteps(stage *haulv1.Stage) ([]haulv1.PromotionStep, []haulv1.Var, error) {
	if t := stage.Spec.PromotionTemplate; t != nil && len(t.Spec.Steps) > 0 {
		return t.Spec.Steps, t.Spec.Vars, nil
	}
	if m := stage.Spec.PromotionMechanisms; m != nil && (len(m.GitRepoUpdates) > 0 || len(m.ArgoCDAppUpdates) > 0) {
		steps, err := expandMechanisms(stage)
		if err != nil {
			return nil, nil, fmt.Errorf("expanding promotionMechanisms: %w", err)
		}
		return steps, nil, nil
	}
	return nil, nil, fmt.Errorf("Stage %q has no promotion steps", stage.Name)
}

// taskGetter reads PromotionTasks from the project namespace and ClusterPromotionTasks.
func (r *Reconciler) taskGetter(ns string) promotion.TaskGetter {
	return func(ctx context.Context, kind haulv1.PromotionTaskKind, name string) (*haulv1.PromotionTaskSpec, error) {
		if kind == haulv1.PromotionTaskKindCluster {
			t := &haulv1.ClusterPromotionTask{}
			if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
				return nil, err
			}
			return &t.Spec, nil
		}
		t := &haulv1.PromotionTask{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t); err != nil {
			return nil, err
		}
		return &t.Spec, nil
	}
}
