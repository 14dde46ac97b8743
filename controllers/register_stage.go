package controllers

import (
	"path/filepath"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/stage"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, opts Options) error {
		o := stage.Options{DenyPrivateHTTP: opts.DenyPrivateHTTP}
		if opts.WorkDir != "" {
			o.WorkDir = filepath.Join(opts.WorkDir, "stages")
		}
		return stage.SetupWithManager(mgr, o)
	})
}
