package controllers

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"

	"github.com/haul-dev/haul/controllers/retention"
	"github.com/haul-dev/haul/pkg/gitx"
)

// Options configure all controllers; zero values mean the documented defaults.
type Options struct {
	// MinWarehouseInterval is the floor applied to Warehouse.spec.interval.
	MinWarehouseInterval time.Duration
	// WorkDir is where Promotions get their working directories and where the shared
	// Git and discovery caches live.
	WorkDir string
	// RegistryRPS limits requests per second to one registry (default 20).
	RegistryRPS float64
	// MaxRetryAfter caps how long a registry's 429 Retry-After pauses its host
	// (default 10m).
	MaxRetryAfter time.Duration
	// ProjectAccessRole is a ClusterRole the Project controller binds in each project
	// namespace to ProjectAccessSubjects (in-cluster: Haul's service accounts).
	ProjectAccessRole     string
	ProjectAccessSubjects []rbacv1.Subject
	// ExternalURL is how users reach the Haul server; webhook receiver URLs published in
	// ProjectConfig status are built from it (only paths are published when empty).
	ExternalURL string
	// SharedCredentialsNamespace holds credentials every project may use, for discovery
	// and in promotion steps (never readable through expressions).
	SharedCredentialsNamespace string
	// DenyPrivateHTTP makes http steps (in promotions and verification) also refuse
	// private, shared and loopback addresses; link-local and metadata addresses are
	// always refused.
	DenyPrivateHTTP bool
	// DenyPlainHTTPGit refuses http:// Git remotes (steps and Warehouse subscriptions),
	// so repository credentials and content never travel unencrypted.
	DenyPlainHTTPGit bool
	// PushIntegration is how git-push integrates commits another writer pushed to the
	// branch first: AlwaysRebase (default), RebaseOrMerge, RebaseOrFail or AlwaysMerge.
	PushIntegration gitx.Integration
	// Retention holds the cluster's default retention policy, which a project's
	// ProjectConfig.spec.retention overrides field by field; the zero value keeps
	// everything (docs/retention.md).
	Retention retention.Defaults
	// RetentionInterval is how often each project is swept (default 10m).
	RetentionInterval time.Duration
	// Shard is the controller shard this process is (haul.dev/shard); "" is the
	// default controller, which alone runs the Project, ProjectConfig and retention
	// controllers. Which objects a shard sees is the manager cache's business
	// (internal/app); the controllers use the name in Events and logs.
	Shard string
	// ShardCache says the manager's cache holds only Shard's Warehouses, Stages and
	// Promotions, so what must count every shard's (Project status) reads around it.
	ShardCache bool
	// ReconcilerConfig reaches the cluster where this shard's Argo CD and Flux run
	// (argocd-*/flux-* steps, health checks, AnalysisRuns); nil means the control
	// plane's (the manager's) cluster.
	ReconcilerConfig *rest.Config
}
