package promotion

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/pkg/redact"
)

// Step is one built-in step kind (git-clone, http, argocd-update, ...). A Step must be
// idempotent: after a crash the engine replays a Promotion's steps from the start.
type Step interface {
	Run(ctx context.Context, sc *StepContext) (StepResult, error)
}

// defaultTimeouter is a Step with a timeout of its own, used when the step sets no
// retry.timeout (see WithDefaultTimeout).
type defaultTimeouter interface {
	DefaultTimeout() time.Duration
}

// TaskOutputPropagator is a Step whose output, when it runs inside a task, the engine
// also merges into the outputs of the task step's alias, so that steps after the task
// read outputs.<task>.<key> (Kargo's task-output-propagation capability, which
// compose-output has).
type TaskOutputPropagator interface {
	PropagatesTaskOutput() bool
}

// WithDefaultTimeout gives s a default timeout: how long it may keep reporting
// Running when its retry.timeout is unset. retry.timeout, 0 included, overrides it.
func WithDefaultTimeout(s Step, d time.Duration) Step { return timedStep{s, d} }

type timedStep struct {
	Step
	d time.Duration
}

func (s timedStep) DefaultTimeout() time.Duration { return s.d }

// StepFunc adapts a function to Step.
type StepFunc func(ctx context.Context, sc *StepContext) (StepResult, error)

// Run calls f.
func (f StepFunc) Run(ctx context.Context, sc *StepContext) (StepResult, error) { return f(ctx, sc) }

// Status values a step may report. They are the API's StepStatus values.
const (
	StatusSucceeded = haulv1.StepSucceeded
	// StatusRunning asks the engine to call the step again later (e.g. waiting for a sync).
	StatusRunning = haulv1.StepRunning
	// StatusFailed fails the step without an error (e.g. a failureExpression matched).
	StatusFailed  = haulv1.StepFailed
	StatusErrored = haulv1.StepErrored
	StatusSkipped = haulv1.StepSkipped
	StatusAborted = haulv1.StepAborted
)

// HealthCheck is left behind by a step so the Stage can assess health later.
type HealthCheck struct {
	Uses   string         `json:"uses"`
	Config map[string]any `json:"config,omitempty"`
}

// StepResult is what one invocation of a step produced.
type StepResult struct {
	// Status is Succeeded when empty.
	Status haulv1.StepStatus
	// Output becomes outputs.<alias> for later steps.
	Output map[string]any
	// Message is shown in stepExecutionMetadata.
	Message string
	// HealthCheck, when set, is recorded in Promotion.status.healthChecks.
	HealthCheck *HealthCheck
	// RequeueAfter is how soon a Running step wants to be called again (default 5s).
	RequeueAfter time.Duration
	// PullRequest, when set, is recorded in the step's stepExecutionMetadata, where
	// users (and webhook receivers waking waiting Promotions) find it.
	PullRequest *haulv1.PullRequestStatus
}

// CredentialsFunc finds credentials of a type (git, image, helm, generic) for a URL.
type CredentialsFunc func(ctx context.Context, credType, repoURL string) (username, password string, ok bool, err error)

// HTTPClientFunc returns an HTTP client whose dialer refuses link-local and metadata
// addresses (and, when the controller says so, private ones), also on redirects.
type HTTPClientFunc func(timeout time.Duration) *http.Client

// Services are the side-effecting dependencies steps and expressions may use. Any of
// them may be nil; steps that need a missing one fail with a clear error.
type Services struct {
	// Dynamic and Kube reach the cluster (argocd-update, flux-reconcile, job steps,
	// and the secret()/configMap() expression functions).
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface
	// Reconciler reaches the cluster where Argo CD and Flux run (argocd-update,
	// argocd-wait, flux-reconcile), which a shard may keep apart from the control
	// plane (`haul controller --reconciler-kubeconfig`); Dynamic when nil.
	Reconciler dynamic.Interface
	// Credentials looks up repository credentials in the project namespace.
	Credentials CredentialsFunc
	// HTTPClient builds SSRF-guarded clients; DefaultHTTPClient is used when nil.
	HTTPClient HTTPClientFunc
	// Git is the shared Git object cache; a private one under the work dir is used when nil.
	Git *gitx.Cache
	// Logger receives step logs; never log credentials.
	Logger logr.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SharedNamespace is where sharedSecret() and sharedConfigMap() read (Kargo's
	// shared resources namespace); empty means those functions have nothing to read.
	SharedNamespace string
	// UIBaseURL is what ctx.uiBaseUrl shows (how users reach Haul); may be empty.
	UIBaseURL string
	// Notifier sends the send-message step's messages; nil refuses that step.
	Notifier notify.Hub
	// PushIntegration is how git-push integrates commits pushed to the branch
	// meanwhile (the operator's push integration policy); "" is AlwaysRebase.
	PushIntegration gitx.Integration
	// ClusterConfig, when set, returns the cluster's ClusterConfig (nil, nil when there
	// is none); the controller serves it from its cache. When nil, Dynamic reads it.
	ClusterConfig func(ctx context.Context) (*haulv1.ClusterConfig, error)

	// clusterGit memoises ClusterGitIdentity for one run (set by forRun).
	clusterGit *clusterGitMemo
}

// forRun returns the Services one Run hands to its steps: the same, except that the
// logger masks secrets (the run's values), credentials handed out are added to those
// values, and credential lookups (found or not) are remembered per type and URL for
// the run, so a clone and a push of one repository ask once.
func (s *Services) forRun(secrets *redact.Values) *Services {
	if s == nil {
		return s
	}
	c := *s
	c.Logger = maskLogger(s.Logger, secrets)
	c.clusterGit = &clusterGitMemo{}
	if s.Credentials == nil {
		return &c
	}
	type found struct {
		user, pass string
		ok         bool
	}
	var mu sync.Mutex
	memo := map[[2]string]found{}
	lookup := s.Credentials
	c.Credentials = func(ctx context.Context, credType, repoURL string) (string, string, bool, error) {
		key := [2]string{credType, repoURL}
		mu.Lock()
		f, ok := memo[key]
		mu.Unlock()
		if ok {
			return f.user, f.pass, f.ok, nil
		}
		user, pass, ok, err := lookup(ctx, credType, repoURL)
		if ok {
			secrets.Add(pass)
		}
		if err == nil {
			mu.Lock()
			memo[key] = found{user, pass, ok}
			mu.Unlock()
		}
		return user, pass, ok, err
	}
	return &c
}

func (s *Services) now() time.Time {
	if s == nil || s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// StepContext is everything a step invocation may look at.
type StepContext struct {
	// WorkDir is the Promotion's private directory; every path in a config is relative to it.
	WorkDir string
	// Project is the project (namespace) name.
	Project   string
	Stage     string
	Promotion string
	Freight   haulv1.FreightReference
	// Alias is this step's alias (for steps inside a task: "<task>::<step>").
	Alias string
	// Config is the step's config with expressions already evaluated.
	Config map[string]any
	// Vars are the step's effective vars (evaluated).
	Vars map[string]any
	// Outputs are the outputs of earlier steps by alias.
	Outputs map[string]any
	// StartedAt is when this step was first invoked (for Running steps, the first call).
	StartedAt time.Time
	// Attempt counts invocations of this step so far, starting at 1.
	Attempt int
	// Services give access to the cluster, credentials, HTTP and Git.
	Services *Services
	// Secrets knows the values this Promotion read from Secrets, for steps that write
	// data where project viewers can read it (set-metadata refuses to). May be nil.
	Secrets *Secrets
}

// Path resolves a config path inside the work dir; see SecurePath.
func (sc *StepContext) Path(field, p string) (string, error) {
	return SecurePath(sc.WorkDir, field, p)
}

// Logger returns the services' logger, or a discarding one.
func (sc *StepContext) Logger() logr.Logger {
	if sc.Services == nil {
		return logr.Discard()
	}
	return sc.Services.Logger
}

// HTTPClient returns a guarded HTTP client.
func (sc *StepContext) HTTPClient(timeout time.Duration) *http.Client {
	if sc.Services != nil && sc.Services.HTTPClient != nil {
		return sc.Services.HTTPClient(timeout)
	}
	return DefaultHTTPClient(timeout)
}

// OutputKeyer is a Step that can say, before it runs, which keys its Output may hold
// (what later steps reach as outputs.<alias>.<key>). config is the step's config as
// written, not yet evaluated; known is false when the keys depend on something only
// the run knows (a config whose output names are expressions).
type OutputKeyer interface {
	OutputKeys(config map[string]any) (keys []string, known bool)
}
