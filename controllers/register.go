package controllers

import (
	"fmt"
	"path/filepath"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/controllers/clusterconfig"
	"github.com/haul-dev/haul/controllers/notification"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/controllers/projectconfig"
	"github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/retention"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/controllers/warehouse"
)

// SetupAll registers every reconciler Haul runs with the manager. This is the one list
// of them: a reconciler that is not named here does not run.
func SetupAll(mgr ctrl.Manager, o Options) error {
	subdir := func(name string) string {
		if o.WorkDir == "" {
			return ""
		}
		return filepath.Join(o.WorkDir, name)
	}
	// The notification controller comes first: its Router is the Promotion
	// controller's notifier (the send-message step). It follows the Promotions and
	// Stages of this process's shard, so every shard runs it.
	var notifier *notification.Router
	setups := []setup{
		{"warehouse", func() error {
			return warehouse.SetupWithManager(mgr, warehouse.Options{
				MinInterval: o.MinWarehouseInterval, RegistryRPS: o.RegistryRPS, MaxRetryAfter: o.MaxRetryAfter,
				SharedCredentialsNamespace: o.SharedCredentialsNamespace,
				DenyPlainHTTPGit:           o.DenyPlainHTTPGit,
				CacheDir:                   subdir("discovery-cache"),
			})
		}},
		{"notification", func() error {
			var err error
			notifier, err = notification.SetupWithManager(mgr, notification.Options{
				SharedCredentialsNamespace: o.SharedCredentialsNamespace, DenyPrivateHTTP: o.DenyPrivateHTTP,
			})
			return err
		}},
		{"stage", func() error {
			return stage.SetupWithManager(mgr, stage.Options{DenyPrivateHTTP: o.DenyPrivateHTTP, WorkDir: subdir("stages"), ReconcilerConfig: o.ReconcilerConfig})
		}},
		{"promotion", func() error {
			return promotion.SetupWithManager(mgr, promotion.Options{
				WorkDir: o.WorkDir, SharedCredentialsNamespace: o.SharedCredentialsNamespace,
				DenyPrivateHTTP: o.DenyPrivateHTTP, DenyPlainHTTPGit: o.DenyPlainHTTPGit,
				ExternalURL: o.ExternalURL, Notifier: notifier, Shard: o.Shard, Sharded: o.ShardCache, ReconcilerConfig: o.ReconcilerConfig,
				PushIntegration: o.PushIntegration,
			})
		}},
	}
	if o.Shard != "" {
		// Projects, their configuration and retention are per project, not per shard:
		// only the default controller runs them (reading every shard's objects).
		return run(setups)
	}
	setups = append(setups, []setup{
		{"project", func() error {
			return project.SetupWithManager(mgr, project.Options{AccessRole: o.ProjectAccessRole, AccessSubjects: o.ProjectAccessSubjects, CountUncached: o.ShardCache})
		}},
		{"projectconfig", func() error {
			return projectconfig.SetupWithManager(mgr, projectconfig.Options{ExternalURL: o.ExternalURL})
		}},
		{"clusterconfig", func() error {
			return clusterconfig.SetupWithManager(mgr, clusterconfig.Options{ExternalURL: o.ExternalURL})
		}},
		{"retention", func() error {
			return retention.SetupWithManager(mgr, retention.Options{Defaults: o.Retention, Interval: o.RetentionInterval})
		}},
	}...)
	return run(setups)
}

// setup is one reconciler's registration, named for errors.
type setup struct {
	name  string
	setup func() error
}

func run(setups []setup) error {
	for _, s := range setups {
		if err := s.setup(); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", s.name, err)
		}
	}
	return nil
}
