package controllers

import (
	"path/filepath"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/warehouse"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, o Options) error {
		wo := warehouse.Options{
			MinInterval: o.MinWarehouseInterval, RegistryRPS: o.RegistryRPS, MaxRetryAfter: o.MaxRetryAfter,
			SharedCredentialsNamespace: o.SharedCredentialsNamespace,
			DenyPlainHTTPGit:           o.DenyPlainHTTPGit,
		}
		if o.WorkDir != "" {
			wo.CacheDir = filepath.Join(o.WorkDir, "discovery-cache")
		}
		return warehouse.SetupWithManager(mgr, wo)
	})
}
