package clusterconfig

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

// Options configure the ClusterConfig reconciler.
type Options struct {
	// ExternalURL, when set (e.g. https://haul.example.com), is prefixed to each path
	// to publish a full receiver URL.
	ExternalURL string
}

// Reconciler publishes receiver paths in ClusterConfig.status.webhookReceivers.
type Reconciler struct {
	client.Client
	Options Options
}

// SetupWithManager registers the reconciler; it only reacts to spec changes.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	r := &Reconciler{Client: mgr.GetClient(), Options: opts}
	return ctrl.NewControllerManagedBy(mgr).
		Named("clusterconfig").
		For(&haulv1.ClusterConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// ReceiverPath is where the named ClusterConfig receiver listens.
func ReceiverPath(receiver string) string {
	return haulv1.ClusterWebhookReceiverPathPrefix + receiver
}

// Reconcile publishes status.webhookReceivers from the spec and summarises the pass
// into Ready; status is written only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cc := &haulv1.ClusterConfig{}
	if err := r.Get(ctx, req.NamespacedName, cc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := cc.Status.DeepCopy()
	st.WebhookReceivers = nil
	for _, rc := range cc.Spec.WebhookReceivers {
		s := haulv1.WebhookReceiverStatus{Name: rc.Name, Path: ReceiverPath(rc.Name)}
		if r.Options.ExternalURL != "" {
			s.URL = strings.TrimSuffix(r.Options.ExternalURL, "/") + s.Path
		}
		st.WebhookReceivers = append(st.WebhookReceivers, s)
	}
	out := reconcile.Summary{
		Generation:   cc.Generation,
		ReadyMessage: fmt.Sprintf("%d cluster webhook receiver(s) published", len(st.WebhookReceivers)),
	}.Apply(&st.Conditions)
	if out.Observed {
		st.ObservedGeneration = cc.Generation
	}
	if equality.Semantic.DeepEqual(&cc.Status, st) {
		return out.Result, out.Err
	}
	base := cc.DeepCopy()
	cc.Status = *st
	if err := r.Status().Patch(ctx, cc, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, fmt.Errorf("patching status of ClusterConfig %s: %w", cc.Name, err)
	}
	return out.Result, out.Err
}
