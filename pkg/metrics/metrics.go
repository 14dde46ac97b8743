// Package metrics defines Haul's Prometheus metrics. It depends only on the Prometheus
// client, so the discovery and promotion libraries can record into it; the server side
// registers them with controller-runtime's registry, next to the reconcile metrics
// (controller_runtime_reconcile_time_seconds and friends) the manager already exports.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

var (
	// DiscoveryDuration is how long one Warehouse subscription's discovery took, by
	// kind (image, git, chart) and result (success, error).
	DiscoveryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "haul_discovery_duration_seconds",
		Help:    "Duration of one subscription's artifact discovery, by kind and result.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"kind", "result"})

	// RegistryRequests counts HTTP requests to container registries, by registry host
	// and status code class.
	RegistryRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "haul_registry_requests_total",
		Help: "HTTP requests sent to container registries, by registry host and status code.",
	}, []string{"registry", "code"})

	// RateLimitWait is time spent waiting for a registry's rate limit (client-side or
	// Retry-After from the registry).
	RateLimitWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "haul_registry_rate_limit_wait_seconds",
		Help:    "Time spent waiting on a registry's rate limit before a request, by registry host.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"registry"})

	// PromotionsFinished counts Promotions reaching a terminal phase, by phase.
	PromotionsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "haul_promotions_finished_total",
		Help: "Promotions that reached a terminal phase, by phase.",
	}, []string{"phase"})

	// PromotionDuration is how long Promotions took from start to a terminal phase.
	PromotionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "haul_promotion_duration_seconds",
		Help:    "Duration of Promotions from start to a terminal phase, by phase.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"phase"})

	// StepDuration is how long one run of a promotion or verification step took, so the
	// slow step of a template is visible (a step that reports Running is one run per poll).
	StepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "haul_promotion_step_duration_seconds",
		Help:    "Duration of one run of a promotion or verification step, by step kind and outcome (Succeeded, Running, Failed, Errored, Aborted).",
		Buckets: prometheus.ExponentialBuckets(0.002, 2.5, 12),
	}, []string{"step", "status"})
)

var (
	// NotificationsSent counts routed and step messages by channel kind (slack, teams,
	// http, smtp, unknown) and result (delivered, failed).
	NotificationsSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "haul_notifications_total",
		Help: "Messages sent to channels, by channel kind and result (delivered, failed).",
	}, []string{"kind", "result"})

	// WindowOverrides counts Promotions that started while their Stage's promotion
	// windows were closed, because somebody with the override right let them through.
	WindowOverrides = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "haul_promotion_window_overrides_total",
		Help: "Promotions started through closed promotion windows by an override.",
	})

	// RetentionSweeps counts retention sweeps of a project, by result (success, error).
	RetentionSweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "haul_retention_sweeps_total",
		Help: "Retention sweeps of a project, by result (success, error).",
	}, []string{"result"})

	// RetentionDeleted counts objects the retention sweeps deleted, by kind
	// (Promotion, Freight).
	RetentionDeleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "haul_retention_deleted_total",
		Help: "Objects deleted by retention sweeps, by kind (Promotion, Freight).",
	}, []string{"kind"})

	// RetentionSweepDuration is how long one project's retention sweep took.
	RetentionSweepDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "haul_retention_sweep_duration_seconds",
		Help:    "Duration of one project's retention sweep.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	})
)

// ObserveStep records one step run in haul_promotion_step_duration_seconds; it fits
// promotion.Engine.StepDone.
func ObserveStep(uses string, status haulv1.StepStatus, took time.Duration) {
	StepDuration.WithLabelValues(uses, string(status)).Observe(took.Seconds())
}

// Register adds every Haul metric to reg.
func Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		DiscoveryDuration, RegistryRequests, RateLimitWait, PromotionsFinished, PromotionDuration, StepDuration,
		RetentionSweeps, RetentionDeleted, RetentionSweepDuration, NotificationsSent, WindowOverrides,
	} {
		if err := reg.Register(c); err != nil {
			// A second manager in the same process (tests, haul up restarts) registers
			// the same collectors again; they are already being served.
			if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
				continue
			}
			return err
		}
	}
	return nil
}

// Lister lists Promotions; a controller-runtime cached client satisfies it.
type Lister interface {
	List(ctx context.Context, list *haulv1.PromotionList) error
}

// promotionsByPhase reports the current number of Promotions in each phase, read from
// the controller's cache at scrape time, so it is always consistent with the cluster.
type promotionsByPhase struct {
	lister Lister
	desc   *prometheus.Desc
}

// PromotionGauge exports haul_promotions{phase}, counted from lister at scrape time.
func PromotionGauge(lister Lister) prometheus.Collector {
	return &promotionsByPhase{
		lister: lister,
		desc:   prometheus.NewDesc("haul_promotions", "Promotions currently in each phase.", []string{"phase"}, nil),
	}
}

func (p *promotionsByPhase) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }

func (p *promotionsByPhase) Collect(ch chan<- prometheus.Metric) {
	var list haulv1.PromotionList
	if err := p.lister.List(context.Background(), &list); err != nil {
		return
	}
	counts := map[haulv1.PromotionPhase]int{
		haulv1.PromotionPending: 0, haulv1.PromotionRunning: 0, haulv1.PromotionSucceeded: 0,
		haulv1.PromotionFailed: 0, haulv1.PromotionErrored: 0, haulv1.PromotionAborted: 0,
	}
	for _, pr := range list.Items {
		phase := pr.Status.Phase
		if phase == "" {
			phase = haulv1.PromotionPending
		}
		counts[phase]++
	}
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(p.desc, prometheus.GaugeValue, float64(n), string(phase))
	}
}
