package notification

import (
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/promotion"
)

// Options configure the notification controller.
type Options struct {
	// SharedCredentialsNamespace holds the Secrets of ClusterMessageChannels.
	SharedCredentialsNamespace string
	// DenyPrivateHTTP makes webhook channels refuse private and loopback addresses too
	// (link-local and metadata addresses are always refused).
	DenyPrivateHTTP bool
	// InitialBackoff is the first retry's wait (default 2s, doubling).
	InitialBackoff time.Duration
}

// SetupWithManager registers the event reconcilers and the delivery workers, and
// returns the Router: the notify.Hub the Promotion controller's send-message step uses.
func SetupWithManager(mgr ctrl.Manager, o Options) (*Router, error) {
	log := mgr.GetLogger().WithName("notification")
	resolver := &notify.Resolver{Reader: mgr.GetAPIReader(), ClusterSecretsNamespace: o.SharedCredentialsNamespace}
	sender := &notify.Sender{HTTPClient: promotion.AddressPolicy{DenyPrivate: o.DenyPrivateHTTP}.Client}
	status := &statusWriter{client: mgr.GetClient(), reader: mgr.GetAPIReader(), log: log}
	d := &notify.Dispatcher{Resolver: resolver, Sender: sender, InitialBackoff: o.InitialBackoff, Done: status.record, Logger: log}
	if err := mgr.Add(d); err != nil {
		return nil, fmt.Errorf("adding the notification dispatcher: %w", err)
	}
	r := &Router{Client: mgr.GetClient(), Dispatcher: d, Resolver: resolver, Sender: sender, Logger: log}
	since := time.Now()
	if err := ctrl.NewControllerManagedBy(mgr).Named("notification-promotions").For(&haulv1.Promotion{}).
		Complete(&promotionEvents{Client: mgr.GetClient(), hub: r, since: since}); err != nil {
		return nil, err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("notification-stages").For(&haulv1.Stage{}).
		Complete(&stageEvents{Client: mgr.GetClient(), hub: r, since: since}); err != nil {
		return nil, err
	}
	return r, nil
}
