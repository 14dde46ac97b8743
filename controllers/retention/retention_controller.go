// Package retention runs the retention sweep: per project, it deletes terminal
// Promotions beyond the newest N of each Stage and Freight that is old, not among the
// newest M of its Warehouse and not in use, after archiving a compact record of each
// deleted Promotion in the Stage's promotion history (see docs/retention.md).
//
// The sweep owns no status. It writes only when it deletes: the history ConfigMap, the
// deletions and one Event on the Project; an idle sweep reads the cache and writes
// nothing.
package retention

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/reconcile"
)

// Defaults are the cluster-wide retention values a project's policy falls back to,
// field by field. The zero value keeps everything.
type Defaults struct {
	// PromotionsPerStage is how many terminal Promotions each Stage keeps; 0 keeps all.
	PromotionsPerStage int32
	// FreightPerWarehouse is how many of the newest Freight per Warehouse are always
	// kept; 0 keeps all Freight.
	FreightPerWarehouse int32
	// MinFreightAge is the age below which Freight is never deleted, and the window in
	// which a verification or approval keeps it.
	MinFreightAge time.Duration
}

// Options configure the retention reconciler.
type Options struct {
	// Defaults apply where a project's ProjectConfig.spec.retention leaves a field unset.
	Defaults Defaults
	// Interval is how often each project is swept (default 10m).
	Interval time.Duration
	// Now is the clock; time.Now when nil. Tests inject theirs.
	Now func() time.Time
}

// DefaultInterval is the sweep period when Options.Interval is zero.
const DefaultInterval = 10 * time.Minute

// Reconciler sweeps one project per request (the request names the Project).
type Reconciler struct {
	client.Client
	// Reader reads promotion-history ConfigMaps straight from the API server, so the
	// manager does not cache every ConfigMap of the cluster, and the Stages, Promotions
	// and Freight a sweep weighs, so it sees every shard's.
	Reader   client.Reader
	Recorder record.EventRecorder
	Options  Options
}

// SetupWithManager registers the retention reconciler. It reacts to Project creation
// and to ProjectConfig spec changes, and otherwise sweeps every Options.Interval.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	r := &Reconciler{
		Client:   mgr.GetClient(),
		Reader:   mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorderFor("retention-controller"), //nolint:staticcheck // the events API recorder is not wired in every manager yet
		Options:  opts,
	}
	toProject := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: o.GetNamespace()}}}
	})
	// A failed sweep is retried from a second on, doubling, but never later than the
	// next regular sweep: controller-runtime's default backoff grows to 16 minutes, and
	// a project whose sweeps keep failing would pile up history meanwhile.
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[ctrl.Request](time.Second, max(time.Second, r.interval()))
	return ctrl.NewControllerManagedBy(mgr).
		Named("retention").
		WithOptions(controller.Options{RateLimiter: limiter}).
		For(&haulv1.Project{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&haulv1.ProjectConfig{}, toProject, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Options.Now != nil {
		return r.Options.Now()
	}
	return time.Now()
}

func (r *Reconciler) interval() time.Duration {
	if r.Options.Interval > 0 {
		return r.Options.Interval
	}
	return DefaultInterval
}

// Reconcile sweeps the project named by req and schedules the next sweep.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &haulv1.Project{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	start := time.Now()
	res, err := r.Sweep(ctx, p)
	metrics.RetentionSweepDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.RetentionSweeps.WithLabelValues("error").Inc()
		return ctrl.Result{}, err
	}
	metrics.RetentionSweeps.WithLabelValues("success").Inc()
	if n := len(res.Promotions) + len(res.Freight); n > 0 {
		r.Recorder.Eventf(p, corev1.EventTypeNormal, haulv1.ReasonRetentionSweep,
			"retention deleted %d Promotion(s) and %d Freight (policy: %s)", len(res.Promotions), len(res.Freight), res.Policy)
	}
	return ctrl.Result{RequeueAfter: r.interval()}, nil
}

// Result is what one sweep deleted.
type Result struct {
	// Promotions and Freight are the names deleted.
	Promotions, Freight []string
	// Policy is the effective policy, rendered for the Event.
	Policy Policy
}

// Policy is a project's effective retention policy.
type Policy struct {
	PromotionsPerStage  int
	FreightPerWarehouse int
	MinFreightAge       time.Duration
}

// String renders the policy compactly.
func (p Policy) String() string {
	return fmt.Sprintf("promotionsPerStage=%d freightPerWarehouse=%d minFreightAge=%s", p.PromotionsPerStage, p.FreightPerWarehouse, p.MinFreightAge)
}

// Effective merges a project's policy (nil when it has none) over the defaults.
func Effective(d Defaults, rp *haulv1.RetentionPolicy) Policy {
	out := Policy{PromotionsPerStage: int(d.PromotionsPerStage), FreightPerWarehouse: int(d.FreightPerWarehouse), MinFreightAge: d.MinFreightAge}
	if rp == nil {
		return out
	}
	if rp.PromotionsPerStage != nil {
		out.PromotionsPerStage = int(*rp.PromotionsPerStage)
	}
	if rp.FreightPerWarehouse != nil {
		out.FreightPerWarehouse = int(*rp.FreightPerWarehouse)
	}
	if rp.MinFreightAge != nil {
		out.MinFreightAge = rp.MinFreightAge.Duration
	}
	return out
}

// scope is what one sweep works on: the project's objects as listed, and what the
// steps decided.
type scope struct {
	ns         string
	policy     Policy
	now        time.Time
	stages     []haulv1.Stage
	promotions []haulv1.Promotion
	freight    []haulv1.Freight
	result     *Result
}

// Sweep applies the project's effective policy once.
func (r *Reconciler) Sweep(ctx context.Context, p *haulv1.Project) (*Result, error) {
	ns := p.Name
	pc := &haulv1.ProjectConfig{}
	var rp *haulv1.RetentionPolicy
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: ns}, pc); err == nil {
		rp = pc.Spec.Retention
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading ProjectConfig %s: %w", ns, err)
	}
	s := &scope{ns: ns, policy: Effective(r.Options.Defaults, rp), now: r.now(), result: &Result{}}
	s.result.Policy = s.policy
	if s.policy.PromotionsPerStage == 0 && s.policy.FreightPerWarehouse == 0 {
		return s.result, nil
	}
	err := reconcile.Run(ctx, s, r.list, r.sweepPromotions, r.sweepFreight)
	return s.result, err
}

// list reads the project's Stages, Promotions and Freight from the API server: the
// manager's cache holds only the default shard's Stages and Promotions, and a sweep
// must see every shard's, or it would delete Freight a sharded Stage holds.
func (r *Reconciler) list(ctx context.Context, s *scope) error {
	var stages haulv1.StageList
	if err := r.Reader.List(ctx, &stages, client.InNamespace(s.ns)); err != nil {
		return fmt.Errorf("listing Stages of %s: %w", s.ns, err)
	}
	var promos haulv1.PromotionList
	if err := r.Reader.List(ctx, &promos, client.InNamespace(s.ns)); err != nil {
		return fmt.Errorf("listing Promotions of %s: %w", s.ns, err)
	}
	s.stages, s.promotions = stages.Items, promos.Items
	if s.policy.FreightPerWarehouse > 0 {
		var fl haulv1.FreightList
		if err := r.Reader.List(ctx, &fl, client.InNamespace(s.ns)); err != nil {
			return fmt.Errorf("listing Freight of %s: %w", s.ns, err)
		}
		s.freight = fl.Items
	}
	return nil
}
