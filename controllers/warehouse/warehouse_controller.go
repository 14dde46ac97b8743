package warehouse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/credentials"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/reconcile"
	"github.com/haul-dev/haul/warehouse"
)

// DefaultInterval applies when spec.interval is empty.
const DefaultInterval = 5 * time.Minute

// discoveryTimeout bounds one whole discovery pass of a Warehouse.
const discoveryTimeout = 5 * time.Minute

// Options configure the Warehouse controller.
type Options struct {
	// MinInterval is the floor applied to spec.interval (default 0: no floor).
	MinInterval time.Duration
	// CacheDir holds the Git cache (default: <os.TempDir>/haul-discovery).
	CacheDir string
	// RegistryRPS is the request budget per registry (default 20).
	RegistryRPS float64
	// SharedCredentialsNamespace is searched for credentials after the project namespace.
	SharedCredentialsNamespace string
	// MaxConcurrentReconciles (default 4).
	MaxConcurrentReconciles int
	// RequestTimeout bounds one network call (default 30s).
	RequestTimeout time.Duration
	// MaxRetryAfter caps the pause a registry's Retry-After may ask for; a 429 pauses
	// its whole host (default warehouse.DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration
	// DenyPlainHTTPGit refuses http:// Git subscriptions (https and ssh only).
	DenyPlainHTTPGit bool
}

// Reconciler reconciles Warehouses.
type Reconciler struct {
	client.Client
	// APIReader reads around the cache: fresh objects on conflict, and Secrets.
	APIReader   client.Reader
	Recorder    record.EventRecorder
	Discoverer  *warehouse.Discoverer
	Credentials *credentials.Store
	Options     Options
	// Now is the clock; tests replace it.
	Now func() time.Time

	// lastRun remembers when each Warehouse last ran discovery, because a quiet poll
	// writes nothing to status.
	lastRun sync.Map // types.NamespacedName → time.Time
}

// NewReconciler wires a Reconciler from a manager.
func NewReconciler(mgr ctrl.Manager, opts Options) *Reconciler {
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(os.TempDir(), "haul-discovery")
	}
	return &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorderFor("warehouse-controller"), //nolint:staticcheck // the events API recorder is not wired in every manager yet
		Discoverer: warehouse.New(warehouse.Options{
			CacheDir: opts.CacheDir, RegistryRPS: opts.RegistryRPS, RequestTimeout: opts.RequestTimeout,
			MaxRetryAfter: opts.MaxRetryAfter,
			GitRemotes:    gitx.RemotePolicy{DenyPlainHTTP: opts.DenyPlainHTTPGit},
		}),
		Credentials: &credentials.Store{Reader: mgr.GetAPIReader(), SharedNamespace: opts.SharedCredentialsNamespace},
		Options:     opts,
		Now:         time.Now,
	}
}

// SetupWithManager registers the Warehouse controller.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	return NewReconciler(mgr, opts).SetupWithManager(mgr)
}

// SetupWithManager registers r. Only spec changes and annotation changes (the refresh
// annotation) trigger a reconcile; the controller's own status writes do not.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	n := r.Options.MaxConcurrentReconciles
	if n <= 0 {
		n = 4
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("warehouse").
		For(&haulv1.Warehouse{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: n}).
		Complete(r)
}

// Reconcile runs discovery when it is due and requeues for the next interval. Its
// shape is the one every Haul reconciler has (pkg/reconcile): get the object, run
// the sub-reconcilers in order, then summarise their outcome into Ready, Reconciling
// and Stalled and patch status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	wh := &haulv1.Warehouse{}
	if err := r.Get(ctx, req.NamespacedName, wh); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.lastRun.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !wh.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	interval := r.interval(wh)
	if wait := r.untilDue(wh, interval); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	log.FromContext(ctx).V(1).Info("Running discovery")

	sc := &scope{wh: wh, st: wh.Status.DeepCopy()}
	sc.st.LastHandledRefresh = wh.Annotations[haulv1.AnnotationRefresh]
	defer func() {
		// A panic in a sub-reconciler (a bug in Haul, met by this Warehouse's data)
		// is recorded on the Warehouse and retried after the interval, never as a
		// success and never in a hot loop; other Warehouses are not affected.
		if p := recover(); p != nil {
			log.FromContext(ctx).Error(fmt.Errorf("panic: %v", p), "Recovered from a panic while reconciling the Warehouse", "stack", string(debug.Stack()))
			r.Recorder.Eventf(wh, corev1.EventTypeWarning, haulv1.ReasonReconcilePanic, "recovered from a panic: %v", p)
			retErr = reconcile.Wait(haulv1.ReasonReconcilePanic, jitter(interval), fmt.Errorf("recovered from a panic: %v", p))
		}
		r.lastRun.Store(req.NamespacedName, r.Now())
		out := reconcile.Summary{
			Generation:    wh.Generation,
			Err:           sc.used.Error(retErr), // every message is masked
			ReadyReason:   haulv1.ReasonDiscoverySucceeded,
			ReadyMessage:  sc.message,
			FailureReason: haulv1.ReasonDiscoveryFailed,
			Interval:      jitter(interval),
		}.Apply(&sc.st.Conditions)
		if out.Observed {
			sc.st.ObservedGeneration = wh.Generation
		}
		r.eventOnNewFailure(wh, sc.st)
		if err := r.patchStatus(ctx, wh, sc.st); err != nil {
			result, retErr = ctrl.Result{}, errors.Join(out.Err, err)
			return
		}
		result, retErr = out.Result, out.Err
	}()
	return ctrl.Result{}, reconcile.Run(ctx, sc, r.reconcileSubscriptions, r.reconcileDiscovery, r.reconcileFreight)
}

// eventOnNewFailure records a DiscoveryFailed Warning Event when discovery starts
// failing, or fails differently: users see why in `kubectl describe` and the
// dashboard's event list. A failure repeated with the same message adds none. The
// message is the condition's, so it is masked and bounded as status is.
func (r *Reconciler) eventOnNewFailure(wh *haulv1.Warehouse, st *haulv1.WarehouseStatus) {
	c := meta.FindStatusCondition(st.Conditions, haulv1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != haulv1.ReasonDiscoveryFailed {
		return
	}
	if prev := meta.FindStatusCondition(wh.Status.Conditions, haulv1.ConditionReady); prev != nil &&
		prev.Status == c.Status && prev.Reason == c.Reason && prev.Message == c.Message {
		return
	}
	r.Recorder.Event(wh, corev1.EventTypeWarning, haulv1.ReasonDiscoveryFailed, c.Message)
}

func (r *Reconciler) interval(wh *haulv1.Warehouse) time.Duration {
	d := wh.Spec.Interval.Duration
	if d <= 0 {
		d = DefaultInterval
	}
	if d < r.Options.MinInterval {
		d = r.Options.MinInterval
	}
	return d
}

// untilDue returns 0 when discovery should run now: never run before, spec changed, a
// new refresh value, the last pass did not succeed, or the interval has passed.
func (r *Reconciler) untilDue(wh *haulv1.Warehouse, interval time.Duration) time.Duration {
	st := wh.Status
	if st.DiscoveredArtifacts == nil || st.ObservedGeneration != wh.Generation ||
		wh.Annotations[haulv1.AnnotationRefresh] != st.LastHandledRefresh || !ready(wh) {
		return 0
	}
	var last time.Time
	if v, ok := r.lastRun.Load(types.NamespacedName{Namespace: wh.Namespace, Name: wh.Name}); ok {
		last = v.(time.Time)
	} else if st.DiscoveredArtifacts.DiscoveredAt != nil {
		last = st.DiscoveredArtifacts.DiscoveredAt.Time
	}
	if wait := last.Add(interval).Sub(r.Now()); wait > 0 {
		return wait
	}
	return 0
}

// jitter spreads periodic polls by up to 10% so Warehouses created together do not
// poll in lockstep.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
