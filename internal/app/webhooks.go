package app

import (
	"net/http"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/internal/webhook"
)

// mountWebhooks serves the webhook receivers at /webhooks/. Receiver Secrets are read
// straight from the API (not cached), so serving webhooks never caches every Secret.
func mountWebhooks(mux *http.ServeMux, mgr ctrl.Manager) {
	mux.Handle(webhook.PathPrefix, webhook.NewHandlerFor(mgr.GetClient(), mgr.GetAPIReader()))
}
