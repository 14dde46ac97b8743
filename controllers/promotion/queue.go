package promotion

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// The Stage's governance rules a Pending Promotion meets before it may take the lock:
// supersedePending ends it when a newer one waits, spec.paused keeps it waiting, an
// approval requirement keeps it waiting until enough people approved its Freight, and
// closed promotion windows keep it waiting until they open (or somebody overrode them).
// None of them touches a Running Promotion.

// MsgStagePaused is the message of a Pending Promotion of a paused Stage.
const MsgStagePaused = "stage is paused"

// indexFreight indexes Promotions by spec.freight.
const indexFreight = "promotion.haul.dev/freight"

// governPending applies supersedePending and spec.paused to a Pending Promotion; done
// says it was ended or left waiting (res then is what to return). A Promotion that
// already holds the Stage's lock has started (its Running status may not have landed
// before a restart) and is left alone.
func (r *Reconciler) governPending(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage,
	wait func(string, time.Duration) (ctrl.Result, error)) (res ctrl.Result, done bool, err error) {
	supersede := stage.Spec.PromotionQueue != nil && stage.Spec.PromotionQueue.SupersedePending
	if !supersede && !stage.Spec.Paused {
		return ctrl.Result{}, false, nil
	}
	if holder, _, err := r.lockHolderName(ctx, p); err != nil || holder == p.Name {
		return ctrl.Result{}, false, err
	}
	if supersede {
		newer, err := r.supersededBy(ctx, p)
		if err != nil {
			return ctrl.Result{}, true, err
		}
		if newer != "" {
			return ctrl.Result{}, true, r.supersede(ctx, p, newer)
		}
	}
	if stage.Spec.Paused {
		res, err := wait(MsgStagePaused, waitRequeue)
		return res, true, err
	}
	return ctrl.Result{}, false, nil
}

// supersededBy returns the newest unfinished Promotion of p's Stage created after p,
// or "" when there is none.
func (r *Reconciler) supersededBy(ctx context.Context, p *haulv1.Promotion) (string, error) {
	var list haulv1.PromotionList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingFields{indexStage: p.Spec.Stage}); err != nil {
		return "", err
	}
	var newest *haulv1.Promotion
	for i := range list.Items {
		o := &list.Items[i]
		if o.Name == p.Name || o.Status.Phase.IsTerminal() || !promotion.QueueLess(p, o) {
			continue
		}
		if newest == nil || promotion.QueueLess(newest, o) {
			newest = o
		}
	}
	if newest == nil {
		return "", nil
	}
	return newest.Name, nil
}

// supersede ends a Pending Promotion as Aborted in favour of a newer one.
func (r *Reconciler) supersede(ctx context.Context, p *haulv1.Promotion, newer string) error {
	msg := fmt.Sprintf("superseded by newer Promotion %s of Stage %s", newer, p.Spec.Stage)
	if err := r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
		st.Phase, st.Message, st.SupersededBy = haulv1.PromotionAborted, msg, newer
		st.FinishedAt = &metav1.Time{Time: r.now()}
	}); err != nil {
		return err
	}
	return r.finalize(ctx, p)
}

// approvalWait says why p's Freight may not be promoted to stage yet under the Stage's
// approval requirement ("" when it may). The requester is who created p
// (haul.dev/create-actor); with forbidSelfApproval a Promotion that does not say who
// created it waits, since nobody's approval could be left out.
func (r *Reconciler) approvalWait(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage) (string, error) {
	cfg := &haulv1.ProjectConfig{}
	switch err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Namespace}, cfg); {
	case apierrors.IsNotFound(err):
		cfg = nil
	case err != nil:
		return "", fmt.Errorf("reading projectconfig %s: %w", p.Namespace, err)
	}
	rule := pipeline.ApprovalRuleFor(cfg, stage)
	if rule == nil {
		return "", nil
	}
	actor := p.Annotations[haulv1.AnnotationCreateActor]
	requester := pipeline.Requester(actor)
	if rule.ForbidSelfApproval && actor == "" {
		return fmt.Sprintf("waiting for approval: Stage %s forbids self-approval and this Promotion has no %s annotation naming who asked for it",
			stage.Name, haulv1.AnnotationCreateActor), nil
	}
	f := &haulv1.Freight{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Freight}, f); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil // start() ends it as Errored, naming the missing Freight
		}
		return "", err
	}
	if ok, why := pipeline.ApprovalGate(f, stage, rule, requester); !ok {
		return "waiting for approval: " + why, nil
	}
	return "", nil
}

// freightToPromotions wakes the unfinished Promotions of Freight whose status changed,
// so one waiting for approvals starts as soon as the last one is recorded.
func (r *Reconciler) freightToPromotions(ctx context.Context, o client.Object) []reconcile.Request {
	var list haulv1.PromotionList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexFreight: o.GetName()}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if !list.Items[i].Status.Phase.IsTerminal() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// windowWait says why p may not start now under the promotion windows that select its
// Stage ("" when it may) and how long to wait before looking again. A Promotion that
// carries haul.dev/window-override was let through by somebody with the override verb
// (the admission policy haul-window-override refuses the annotation from anybody else):
// it may start, and overridden then says why the windows were closed ("" when they
// were open, so the override changed nothing).
func (r *Reconciler) windowWait(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage) (wait string, after time.Duration, overridden string, err error) {
	closed, after, err := r.closedWindows(ctx, p, stage)
	if err != nil || closed == "" {
		return "", 0, "", err
	}
	if p.Annotations[haulv1.AnnotationWindowOverride] != "" {
		return "", 0, closed, nil
	}
	return closed, after, "", nil
}

// closedWindows says why the promotion windows selecting p's Stage are closed now (""
// when they are open) and how long to wait before looking again.
func (r *Reconciler) closedWindows(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage) (string, time.Duration, error) {
	// Configuration comes from the cache, as approvalWait's does: it changes rarely,
	// and a round trip to the API server for each of three objects cost every
	// Promotion about five milliseconds before its first step.
	cfg := &haulv1.ProjectConfig{}
	switch err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Namespace}, cfg); {
	case apierrors.IsNotFound(err):
		cfg = nil
	case err != nil:
		return "", 0, fmt.Errorf("reading projectconfig %s: %w", p.Namespace, err)
	}
	cc, err := r.clusterConfig(ctx)
	if err != nil {
		return "", 0, err
	}
	var project *haulv1.Project
	if cc != nil && len(cc.Spec.PromotionWindows) > 0 {
		project = &haulv1.Project{}
		if err := r.Get(ctx, client.ObjectKey{Name: p.Namespace}, project); err != nil {
			if !apierrors.IsNotFound(err) {
				return "", 0, fmt.Errorf("reading project %s: %w", p.Namespace, err)
			}
			project = nil
		}
	}
	now := r.now()
	st := pipeline.EvaluateWindows(pipeline.WindowsFor(cfg, cc, project, stage), now)
	if st.Open {
		return "", 0, nil
	}
	after := waitRequeue
	if !st.NextOpen.IsZero() && st.NextOpen.Sub(now) < after {
		after = max(st.NextOpen.Sub(now), time.Second)
	}
	return st.Reason(), after, nil
}

// clusterConfig returns the ClusterConfig from the cache (nil when there is none).
func (r *Reconciler) clusterConfig(ctx context.Context) (*haulv1.ClusterConfig, error) {
	cc := &haulv1.ClusterConfig{}
	switch err := r.Get(ctx, client.ObjectKey{Name: haulv1.ClusterConfigName}, cc); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading clusterconfig %s: %w", haulv1.ClusterConfigName, err)
	}
	return cc, nil
}
