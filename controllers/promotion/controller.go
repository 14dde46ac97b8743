package promotion

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/credentials"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

// indexStage indexes Promotions by spec.stage.
const indexStage = "promotion.haul.dev/stage"

// Options configure the Promotion controller.
type Options struct {
	// WorkDir holds per-Promotion work dirs (promotions/) and the Git cache (git-cache/).
	WorkDir string
	// MaxConcurrentReconciles bounds Promotions running at once (default 8: most of a
	// Promotion is spent waiting on git servers and the API server, not on CPU).
	MaxConcurrentReconciles int
	// DenyPrivateHTTP makes the http step refuse RFC 1918 and loopback addresses.
	DenyPrivateHTTP bool
	// DenyPlainHTTPGit makes git steps refuse http:// remotes (https and ssh only).
	DenyPlainHTTPGit bool
	// SharedCredentialsNamespace is searched for credentials after the project namespace;
	// the sharedSecret() and sharedConfigMap() expression functions read it too.
	SharedCredentialsNamespace string
	// ExternalURL is how users reach Haul; expressions see it as ctx.uiBaseUrl.
	ExternalURL string
	// Notifier sends the send-message step's messages (the notification controller's
	// Router); nil refuses that step.
	Notifier notify.Hub
	// Shard is the controller shard this process is, named in Promotion Events; ""
	// is the default controller.
	Shard string
	// Sharded says the manager's cache holds only Shard's Stages and Promotions (`haul
	// controller`); the controller then leaves Promotions of other shards' Stages to
	// them. Without it (`haul up`, tests) every Promotion runs here.
	Sharded bool
	// ReconcilerConfig reaches the cluster where Argo CD and Flux run (argocd-*,
	// flux-reconcile steps); nil means the manager's.
	ReconcilerConfig *rest.Config
	// Now is the clock that promotion windows are evaluated with; time.Now when nil.
	Now func() time.Time
	// PushIntegration is how git-push integrates commits pushed to the branch
	// meanwhile (Kargo's push integration policy); "" is AlwaysRebase.
	PushIntegration gitx.Integration
}

// Reconciler runs Promotions.
type Reconciler struct {
	client.Client
	// APIReader reads uncached, so a Promotion's progress is never taken from a stale cache.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Engine    *promotion.Engine
	WorkDir   string
	Now       func() time.Time
	// Credentials finds repository credentials (read uncached, so Haul never needs a
	// cluster-wide watch on Secrets).
	Credentials *credentials.Store
	// Shard is named in Promotion Events, so users see which controller ran one.
	Shard string
	// Sharded: see Options.Sharded.
	Sharded bool

	// aborts holds an *abortSignal per Promotion whose steps run right now.
	aborts sync.Map

	// secrets masks what running Promotions read from Secrets (in memory only).
	secrets runningSecrets
}

// SetupWithManager registers the controller.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(os.TempDir(), "haul")
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 8
	}
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating dynamic client: %w", err)
	}
	reconcilerDyn := dyn
	if opts.ReconcilerConfig != nil {
		if reconcilerDyn, err = dynamic.NewForConfig(opts.ReconcilerConfig); err != nil {
			return fmt.Errorf("creating the reconciler cluster's dynamic client: %w", err)
		}
	}
	r := &Reconciler{
		Shard:     opts.Shard,
		Sharded:   opts.Sharded,
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorderFor("promotion-controller"),
		WorkDir:   opts.WorkDir,
		Now:       opts.Now,
		Credentials: &credentials.Store{
			Reader: mgr.GetAPIReader(), SharedNamespace: opts.SharedCredentialsNamespace,
		},
	}
	policy := promotion.AddressPolicy{DenyPrivate: opts.DenyPrivateHTTP}
	r.Engine = &promotion.Engine{Registry: steps.Builtin(), Services: &promotion.Services{
		Dynamic:     dyn,
		Reconciler:  reconcilerDyn,
		Kube:        kube,
		Credentials: r.credentials,
		HTTPClient:  policy.Client,
		Git:         gitCache(filepath.Join(opts.WorkDir, "git-cache"), opts.DenyPlainHTTPGit),
		Logger:      mgr.GetLogger().WithName("promotion-engine"),

		SharedNamespace: opts.SharedCredentialsNamespace,
		UIBaseURL:       opts.ExternalURL,
		Notifier:        opts.Notifier,
		PushIntegration: opts.PushIntegration,
		ClusterConfig:   r.clusterConfig,
	}, StepDone: metrics.ObserveStep}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &haulv1.Promotion{}, indexStage,
		func(o client.Object) []string { return []string{o.(*haulv1.Promotion).Spec.Stage} }); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &haulv1.Promotion{}, indexFreight,
		func(o client.Object) []string { return []string{o.(*haulv1.Promotion).Spec.Freight} }); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("promotion").
		For(&haulv1.Promotion{}).
		Watches(&haulv1.Promotion{}, r.abortWatch()).
		// A new Promotion may supersede the Pending ones of its Stage.
		Watches(&haulv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(r.promotionToSiblings),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc:  func(event.CreateEvent) bool { return true },
				UpdateFunc:  func(event.UpdateEvent) bool { return false },
				DeleteFunc:  func(event.DeleteEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		// An approval recorded on Freight lets a Promotion waiting for it start.
		Watches(&haulv1.Freight{}, handler.EnqueueRequestsFromMapFunc(r.freightToPromotions)).
		// A Stage's verification finishing lets a waiting Promotion start.
		Watches(&haulv1.Stage{}, handler.EnqueueRequestsFromMapFunc(r.stageToPromotions)).
		// A released lock lets the next Promotion in line start.
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(r.lockToPromotions),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetLabels()[labelPromotionLock] == "true"
			}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Complete(r)
}

// lockToPromotions wakes the unfinished Promotions of the Stage a lock Lease guards.
func (r *Reconciler) lockToPromotions(ctx context.Context, o client.Object) []reconcile.Request {
	return r.stageToPromotions(ctx, o)
}

// promotionToSiblings wakes the unfinished Promotions of a new Promotion's Stage.
func (r *Reconciler) promotionToSiblings(ctx context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*haulv1.Promotion)
	if !ok {
		return nil
	}
	return r.stageToPromotions(ctx, &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Spec.Stage}})
}

// stageToPromotions wakes the unfinished Promotions of a Stage, so the next in line
// starts as soon as the lock is released.
func (r *Reconciler) stageToPromotions(ctx context.Context, o client.Object) []reconcile.Request {
	var list haulv1.PromotionList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexStage: o.GetName()}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if !list.Items[i].Status.Phase.IsTerminal() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// workDir is the Promotion's private directory.
func (r *Reconciler) workDir(p *haulv1.Promotion) string {
	return filepath.Join(r.WorkDir, "promotions", p.Namespace, p.Name)
}

// gitCache returns the Promotion engine's Git cache under dir with the remote policy
// the controller was started with.
func gitCache(dir string, denyPlainHTTP bool) *gitx.Cache {
	c := gitx.New(dir)
	c.Policy = gitx.RemotePolicy{DenyPlainHTTP: denyPlainHTTP}
	return c
}
