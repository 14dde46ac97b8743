// Package projectconfig publishes where each ProjectConfig webhook receiver listens.
package projectconfig

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/reconcile"
)

// Options configure the ProjectConfig reconciler.
type Options struct {
	// ExternalURL, when set (e.g. https://haul.example.com), is prefixed to each path
	// to publish a full receiver URL.
	ExternalURL string
}

// Reconciler publishes receiver paths in ProjectConfig.status.webhookReceivers.
type Reconciler struct {
	client.Client
	Options Options
}

// SetupWithManager registers the reconciler; it only reacts to spec changes.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	r := &Reconciler{Client: mgr.GetClient(), Options: opts}
	return ctrl.NewControllerManagedBy(mgr).
		Named("projectconfig-webhooks").
		For(&haulv1.ProjectConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// ReceiverPath is where the named receiver of a project listens.
func ReceiverPath(project, receiver string) string {
	return haulv1.WebhookReceiverPathPrefix + project + "/" + receiver
}

// Reconcile publishes status.webhookReceivers from the spec and summarises the
// pass into Ready (pkg/reconcile); status is written only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pc := &haulv1.ProjectConfig{}
	if err := r.Get(ctx, req.NamespacedName, pc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := pc.Status.DeepCopy()
	st.WebhookReceivers = r.receivers(pc)
	out := reconcile.Summary{
		Generation:   pc.Generation,
		ReadyMessage: fmt.Sprintf("%d webhook receiver(s) published", len(st.WebhookReceivers)),
	}.Apply(&st.Conditions)
	if out.Observed {
		st.ObservedGeneration = pc.Generation
	}
	if equality.Semantic.DeepEqual(&pc.Status, st) {
		return out.Result, out.Err
	}
	// The merge patch sends null for a list that became empty, so one write clears it.
	base := pc.DeepCopy()
	pc.Status = *st
	if err := r.Status().Patch(ctx, pc, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, fmt.Errorf("patching status of ProjectConfig %s: %w", pc.Name, err)
	}
	return out.Result, out.Err
}

// receivers is where each receiver of the spec listens.
func (r *Reconciler) receivers(pc *haulv1.ProjectConfig) []haulv1.WebhookReceiverStatus {
	var want []haulv1.WebhookReceiverStatus
	for _, rc := range pc.Spec.WebhookReceivers {
		p := ReceiverPath(pc.Namespace, rc.Name)
		s := haulv1.WebhookReceiverStatus{Name: rc.Name, Path: p}
		if r.Options.ExternalURL != "" {
			s.URL = strings.TrimSuffix(r.Options.ExternalURL, "/") + p
		}
		want = append(want, s)
	}
	return want
}
