package app

import (
	"context"
	"fmt"
	"net/http"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/internal/server"
	"github.com/haul-dev/haul/ui"
)

// mountServer adds the webhook receivers, REST API and dashboard to mux.
func mountServer(ctx context.Context, mux *http.ServeMux, mgr ctrl.Manager, cfg Config) error {
	api, err := server.New(server.Config{
		RestConfig:  cfg.RestConfig,
		AdminToken:  cfg.AdminToken,
		OIDC:        cfg.OIDC,
		UI:          ui.Handler(),
		ExternalURL: cfg.ExternalURL,
		Logger:      cfg.Logger.WithName("server"),
		Context:     ctx,
	})
	if err != nil {
		return fmt.Errorf("starting the REST API: %w", err)
	}
	mountWebhooks(mux, mgr, cfg.ClusterSecretsNamespace)
	mux.Handle("/", api)
	return nil
}
