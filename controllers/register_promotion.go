package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/promotion"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, o Options) error {
		return promotion.SetupWithManager(mgr, promotion.Options{
			WorkDir: o.WorkDir, SharedCredentialsNamespace: o.SharedCredentialsNamespace,
			DenyPrivateHTTP: o.DenyPrivateHTTP, DenyPlainHTTPGit: o.DenyPlainHTTPGit,
		})
	})
}
