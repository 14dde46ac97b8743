package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/project"
)

func init() {
	setupFuncs = append(setupFuncs, func(mgr ctrl.Manager, o Options) error {
		return project.SetupWithManager(mgr, project.Options{AccessRole: o.ProjectAccessRole, AccessSubjects: o.ProjectAccessSubjects})
	})
}
