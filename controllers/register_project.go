package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/project"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, _ Options) error { return project.SetupWithManager(mgr) })
}
