package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/internal/webhook"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, o Options) error {
		return webhook.SetupWithManager(mgr, webhook.ReceiverOptions{ExternalURL: o.ExternalURL})
	})
}
