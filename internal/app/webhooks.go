package app

import (
	"net/http"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/internal/webhook"
)

// mountWebhooks serves the webhook receivers at /webhooks/. Receiver Secrets are read
// straight from the API (not cached), so serving webhooks never caches every Secret;
// the ClusterConfig's receivers read theirs from clusterSecrets.
func mountWebhooks(mux *http.ServeMux, mgr ctrl.Manager, clusterSecrets string) {
	mux.Handle(webhook.PathPrefix, webhook.NewHandlerWith(mgr.GetClient(), mgr.GetAPIReader(),
		webhook.Options{ClusterSecretsNamespace: clusterSecrets}))
}
