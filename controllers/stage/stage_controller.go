package stage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/pkg/reconcile"
)

// Options configure the Stage controller; zero values mean the defaults.
type Options struct {
	// Interval is the periodic re-check of an idle Stage (default 5m, jittered ±10%).
	Interval time.Duration
	// HealthInterval is the re-check while health is not yet settled (default 10s).
	HealthInterval time.Duration
	// WorkDir holds verification working directories.
	WorkDir string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxConcurrentReconciles defaults to 4.
	MaxConcurrentReconciles int
	// DenyPrivateHTTP makes verification http steps also refuse private and loopback
	// addresses (link-local and metadata addresses are always refused).
	DenyPrivateHTTP bool
	// ReconcilerConfig reaches the cluster where this shard's Argo CD and Flux run:
	// health checks read and watch Applications and Flux objects there. nil means the
	// manager's cluster.
	ReconcilerConfig *rest.Config
}

// Reconciler reconciles Stages.
type Reconciler struct {
	client.Client
	// APIReader reads around the cache after a write conflict.
	APIReader client.Reader
	Dynamic   dynamic.Interface
	Kube      kubernetes.Interface
	// Reconcilers reaches the cluster where Argo CD and Flux run (health checks);
	// ReconcilerMapper maps its kinds. The manager's cluster unless
	// Options.ReconcilerConfig names another.
	Reconcilers      dynamic.Interface
	ReconcilerMapper meta.RESTMapper
	Recorder         record.EventRecorder
	Options          Options
	// Verifier runs verification steps; nil disables step-based verification.
	Verifier Verifier

	// watched maps reconciler objects (Applications, Flux resources) seen in health
	// checks to the Stages that depend on them.
	watched watchSet
	// written holds the controller's own status writes until its cache has them.
	written writtenStages
	// freightBatch folds concurrent passes' Freight status patches into one write.
	freightBatch freightBatcher
}

func (r *Reconciler) now() time.Time {
	if r.Options.Now != nil {
		return r.Options.Now()
	}
	return time.Now()
}

// SetupWithManager registers the Stage controller with its indexes and watches.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Minute
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 10 * time.Second
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 4
	}
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("stage controller: dynamic client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("stage controller: kubernetes client: %w", err)
	}
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Dynamic:   dyn,
		Kube:      kube,
		Recorder:  mgr.GetEventRecorderFor("stage-controller"),
		Options:   opts,

		Reconcilers:      dyn,
		ReconcilerMapper: mgr.GetRESTMapper(),
	}
	reconcilers, err := reconcilerCluster(mgr, opts.ReconcilerConfig)
	if err != nil {
		return err
	}
	if opts.ReconcilerConfig != nil {
		if r.Reconcilers, err = dynamic.NewForConfig(opts.ReconcilerConfig); err != nil {
			return fmt.Errorf("stage controller: the reconciler cluster's dynamic client: %w", err)
		}
		r.ReconcilerMapper = reconcilers.GetRESTMapper()
	}
	r.Verifier = newStepVerifier(r)
	ctx := context.Background()
	if err := setupIndexes(ctx, mgr); err != nil {
		return fmt.Errorf("stage controller: indexes: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&haulv1.Stage{}).
		Watches(&haulv1.Freight{}, r.freightHandler()).
		Watches(&haulv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(r.promotionToStage)).
		Watches(&haulv1.ProjectConfig{}, handler.EnqueueRequestsFromMapFunc(r.projectConfigToStages),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&haulv1.Stage{}, handler.EnqueueRequestsFromMapFunc(r.stageToDownstream)).
		Watches(&haulv1.ClusterConfig{}, handler.EnqueueRequestsFromMapFunc(r.clusterConfigToStages),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Named("stage")
	b = watchReconcilers(mgr, reconcilers, b, r)
	return b.Complete(r)
}

// Reconcile re-observes one Stage and everything it depends on, acts (verification
// records, auto-promotions), and writes its status once, only if it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	s := &haulv1.Stage{}
	if err := r.Get(ctx, req.NamespacedName, s); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s = r.written.latest(s)
	if !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	// Every pass ends in status: an error is summarised into Ready, Reconciling and
	// Stalled (pkg/reconcile) on top of what the last good pass wrote, and a panic
	// is reported there too and retried after the interval, never in a crash loop.
	defer func() {
		if p := recover(); p != nil {
			log.Error(fmt.Errorf("panic: %v", p), "Recovered from a panic while reconciling the Stage")
			r.Recorder.Eventf(s, corev1.EventTypeWarning, haulv1.ReasonReconcilePanic, "recovered from a panic: %v", p)
			res, retErr = ctrl.Result{}, reconcile.Wait(haulv1.ReasonReconcilePanic, r.Options.Interval, fmt.Errorf("recovered from a panic: %v", p))
		}
		if retErr != nil {
			res, retErr = r.reportError(ctx, s, retErr)
		}
	}()

	now := r.now()
	obs, err := r.observe(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Freight changes collected before a failure are still written: they are true, and
	// a verification result in them is not recomputed.
	defer func() {
		if retErr != nil && len(obs.writes.byName) > 0 {
			retErr = errors.Join(retErr, r.flushFreight(ctx, &obs.writes))
		}
	}()
	st := &statusUpdate{generation: s.Generation, now: now}
	if v := annotationRequest(s, haulv1.AnnotationRefresh, s.Status.LastHandledRefresh); v != "" {
		st.refresh = &v
	}

	if cycle := obs.cycle; cycle != nil {
		st.cycle = cycle
		return ctrl.Result{}, r.patchStatus(ctx, s, st.apply)
	}

	// What the Stage's Promotions did comes first: every later step reads the history.
	// s is updated in memory for them; the status write starts from orig, so it sees
	// these changes as changes.
	orig := s.DeepCopy()
	rec := recordPromotions(s, obs.promotions)
	rec.apply(s)
	st.promotions = &rec
	reconcileCurrentlyIn(s, obs)

	var requeue []time.Duration
	wait, err := r.reconcileFreight(ctx, s, obs, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	requeue = append(requeue, wait)

	st.health = r.assessHealth(ctx, s, obs)
	vres, err := r.reconcileVerification(ctx, s, obs, st, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	requeue = append(requeue, vres)

	st.autoPromotionEnabled = obs.autoPromotion
	schedule := pipeline.EvaluateWindows(obs.windows, now)
	st.window = schedule.Status()
	requeue = append(requeue, untilChange(schedule, now))
	// A rollback comes before auto-promotion: in the pass that creates one, nothing
	// else is promoted, and the next pass sees the rollback's hold.
	st.stable = updateStable(s, st)
	stable := st.stable
	if stable == nil {
		stable = stableFreight(s)
	}
	rolledBack := false
	lastRun := st.lastRun
	if !st.judgedCurrent(s) {
		lastRun = nil
	}
	plan := planRollback(s, obs, stable, lastRun, now)
	if plan != nil && schedule.Open {
		if rolledBack, err = r.rollBack(ctx, s, obs, plan); err != nil {
			return ctrl.Result{}, err
		}
	}
	if rolledBack {
		st.holds = s.Status.AutoPromotionHolds
	} else {
		holds, err := r.autoPromote(ctx, s, obs, schedule.Open, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		st.holds = holds
	}
	st.summary = freightSummary(s)

	if err := r.flushFreight(ctx, &obs.writes); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.patchStatus(ctx, orig, st.apply); err != nil {
		return ctrl.Result{}, err
	}
	if st.health != nil && st.health.Status != haulv1.HealthHealthy && st.health.Status != haulv1.HealthNotApplicable {
		requeue = append(requeue, r.Options.HealthInterval)
	}
	after := soonest(r.jitter(r.Options.Interval), requeue...)
	log.V(1).Info("Reconciled the Stage", "requeueAfter", after)
	return ctrl.Result{RequeueAfter: after}, nil
}

// reportError writes what a failed pass means into the Stage's summary conditions
// and returns what Reconcile returns. A write conflict is only retried: the next
// pass sees the newer object, and flipping Ready for it would be noise.
func (r *Reconciler) reportError(ctx context.Context, s *haulv1.Stage, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{}, err
	}
	var out reconcile.Outcome
	perr := r.patchStatus(ctx, s, func(cur *haulv1.Stage) {
		out = reconcile.Summary{Generation: cur.Generation, Err: err, Interval: r.Options.Interval}.Apply(&cur.Status.Conditions)
	})
	if perr != nil {
		return ctrl.Result{}, errors.Join(err, perr)
	}
	return out.Result, out.Err
}

// jitter spreads periodic re-checks of many Stages over ±10% of d.
func (r *Reconciler) jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// soonest returns the smallest positive duration, or d when there is none smaller.
func soonest(d time.Duration, more ...time.Duration) time.Duration {
	for _, m := range more {
		if m > 0 && m < d {
			d = m
		}
	}
	return d
}
