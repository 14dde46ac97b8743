package warehouse

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/credentials"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/redact"
	"github.com/haul-dev/haul/warehouse"
)

// maxParallelSubscriptions bounds how many subscriptions of one Warehouse are polled at once.
const maxParallelSubscriptions = 4

// discover runs one discovery pass and writes status only if something changed. Every
// message it writes or returns (and so logs) is masked: the credentials the pass used
// and anything credential-like an upstream server echoed (see redact).
func (r *Reconciler) discover(ctx context.Context, wh *haulv1.Warehouse) (ctrl.Result, error) {
	var used redact.Values
	res, err := r.discoverMasked(ctx, wh, &used)
	return res, used.Error(err)
}

func (r *Reconciler) discoverMasked(ctx context.Context, wh *haulv1.Warehouse, used *redact.Values) (ctrl.Result, error) {
	st := wh.Status.DeepCopy()
	st.LastHandledRefresh = wh.Annotations[haulv1.AnnotationRefresh]
	failed := func(reason string, err error) { setFailed(st, wh.Generation, reason, used.String(err.Error())) }

	criteria, subs, err := r.subscribers(wh, used)
	if err != nil {
		// The spec cannot work as written; wait for it to change instead of retrying.
		failed(haulv1.ReasonInvalidConstraint, err)
		meta.RemoveStatusCondition(&st.Conditions, haulv1.ConditionReconciling)
		if perr := r.patchStatus(ctx, wh, st); perr != nil {
			return ctrl.Result{}, perr
		}
		return ctrl.Result{RequeueAfter: jitter(r.interval(wh))}, nil
	}

	dctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	results, errs := runAll(dctx, subs)
	cancel()
	out := classify(errs)
	// A pause this Warehouse did not cause is shown beside its last real result,
	// never in place of it.
	if out.paused != nil {
		setCondition(st, wh.Generation, haulv1.ConditionReconciling, metav1.ConditionTrue, haulv1.ReasonWaitingForRateLimit, out.paused.Error())
	} else {
		meta.RemoveStatusCondition(&st.Conditions, haulv1.ConditionReconciling)
	}
	switch {
	case out.failed != nil:
		failed(haulv1.ReasonDiscoveryFailed, out.failed)
		if perr := r.patchStatus(ctx, wh, st); perr != nil {
			return ctrl.Result{}, perr
		}
		return ctrl.Result{}, out.failed // controller-runtime backs off exponentially
	case out.limited != nil:
		// This Warehouse's own request was answered 429: that is its result.
		failed(haulv1.ReasonRateLimited, out.limited)
		if perr := r.patchStatus(ctx, wh, st); perr != nil {
			return ctrl.Result{}, perr
		}
		return ctrl.Result{RequeueAfter: jitter(max(out.limited.RetryAfter, time.Second))}, nil
	case out.paused != nil:
		if perr := r.patchStatus(ctx, wh, st); perr != nil {
			return ctrl.Result{}, perr
		}
		return ctrl.Result{RequeueAfter: jitter(max(out.paused.Until.Sub(r.Now()), time.Second))}, nil
	}

	artifacts := toArtifacts(results)
	if old := wh.Status.DiscoveredArtifacts; old != nil && sameArtifacts(old, artifacts) {
		artifacts.DiscoveredAt = old.DiscoveredAt
	} else {
		now := metav1.NewTime(r.Now().UTC().Truncate(time.Second))
		artifacts.DiscoveredAt = &now
	}
	st.DiscoveredArtifacts = artifacts

	msg := fmt.Sprintf("Discovered artifacts for %d subscription(s)", len(results))
	policy := wh.Spec.FreightCreationPolicy
	if policy == "" || policy == haulv1.FreightCreationAutomatic {
		fm, err := r.mintFreight(ctx, wh, st, results, criteria)
		if err != nil {
			reason := haulv1.ReasonDiscoveryFailed
			if warehouse.IsInvalidConstraint(err) {
				reason = haulv1.ReasonInvalidConstraint
			}
			failed(reason, err)
			if perr := r.patchStatus(ctx, wh, st); perr != nil {
				return ctrl.Result{}, perr
			}
			if reason == haulv1.ReasonInvalidConstraint {
				return ctrl.Result{RequeueAfter: jitter(r.interval(wh))}, nil
			}
			return ctrl.Result{}, err
		}
		msg += "; " + fm
	} else {
		msg += "; freightCreationPolicy is Manual"
	}
	setCondition(st, wh.Generation, haulv1.ConditionHealthy, metav1.ConditionTrue, haulv1.ReasonDiscoverySucceeded, "All subscriptions answered")
	setCondition(st, wh.Generation, haulv1.ConditionReady, metav1.ConditionTrue, haulv1.ReasonDiscoverySucceeded, msg)
	st.ObservedGeneration = wh.Generation
	return ctrl.Result{}, r.patchStatus(ctx, wh, st)
}

// subscribers validates the spec and builds one subscriber per subscription; the
// credentials they are handed are recorded in used.
func (r *Reconciler) subscribers(wh *haulv1.Warehouse, used *redact.Values) (*warehouse.Criteria, []warehouse.Subscriber, error) {
	var criteria *warehouse.Criteria
	if c := wh.Spec.FreightCreationCriteria; c != nil {
		var err error
		if criteria, err = warehouse.CompileCriteria(c.Expression); err != nil {
			return nil, nil, err
		}
	}
	credsFn := r.credentialsFor(wh.Namespace, used)
	subs := make([]warehouse.Subscriber, 0, len(wh.Spec.Subscriptions))
	var errs []error
	for i, sub := range wh.Spec.Subscriptions {
		s, err := r.Discoverer.Subscriber(i, sub, credsFn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		subs = append(subs, timedSubscriber{Subscriber: s, kind: subscriptionKind(sub)})
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return criteria, subs, nil
}

func (r *Reconciler) credentialsFor(namespace string, used *redact.Values) warehouse.CredentialsFunc {
	if r.Credentials == nil {
		return nil
	}
	return func(ctx context.Context, kind warehouse.CredentialKind, repoURL string) (*warehouse.Credentials, error) {
		c, err := r.Credentials.Lookup(ctx, namespace, credentials.Type(kind), repoURL)
		if err != nil || c == nil {
			return nil, err
		}
		// Mask the password and the Basic form a server may echo back.
		used.Add(c.Password, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
		return &warehouse.Credentials{Username: c.Username, Password: c.Password}, nil
	}
}

// outcome sorts one pass's subscription errors by what they mean for the Warehouse.
type outcome struct {
	// failed joins the errors that are the Warehouse's own (not rate limits).
	failed error
	// limited is a 429 answered to one of this Warehouse's own requests.
	limited *warehouse.RateLimitedError
	// paused is a request not sent because its host is paused (the latest pause).
	paused *warehouse.RateLimitedError
}

func classify(errs []error) outcome {
	var o outcome
	var real []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		rl, ok := warehouse.IsRateLimited(err)
		switch {
		case !ok:
			real = append(real, err)
		case rl.Paused:
			if o.paused == nil || rl.Until.After(o.paused.Until) {
				o.paused = rl
			}
		case o.limited == nil || rl.RetryAfter > o.limited.RetryAfter:
			o.limited = rl
		}
	}
	if o.limited != nil && len(real) > 0 {
		real = append(real, o.limited)
	}
	o.failed = errors.Join(real...)
	return o
}

// runAll polls every subscription, a few at a time, and returns the results and
// errors in subscription order.
func runAll(ctx context.Context, subs []warehouse.Subscriber) ([]*warehouse.Result, []error) {
	results := make([]*warehouse.Result, len(subs))
	errs := make([]error, len(subs))
	sem := make(chan struct{}, maxParallelSubscriptions)
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("subscription %d: discovery panicked: %v", i, p)
				}
			}()
			res, err := s.Discover(ctx)
			if err != nil {
				errs[i] = fmt.Errorf("subscriptions[%d]: %w", i, err)
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	return results, errs
}

func toArtifacts(results []*warehouse.Result) *haulv1.DiscoveredArtifacts {
	a := &haulv1.DiscoveredArtifacts{}
	for _, res := range results {
		switch res.Kind {
		case warehouse.KindImage:
			a.Images = append(a.Images, haulv1.DiscoveredImages{SubscriptionName: res.SubscriptionName, RepoURL: res.RepoURL, Platform: res.Platform, References: res.Images})
		case warehouse.KindGit:
			a.Git = append(a.Git, haulv1.DiscoveredCommits{SubscriptionName: res.SubscriptionName, RepoURL: res.RepoURL, Commits: res.Commits})
		case warehouse.KindChart:
			a.Charts = append(a.Charts, haulv1.DiscoveredCharts{SubscriptionName: res.SubscriptionName, RepoURL: res.RepoURL, Name: res.Name, Versions: res.Charts})
		}
	}
	return a
}

// sameArtifacts compares two discoveries ignoring when they happened.
func sameArtifacts(a, b *haulv1.DiscoveredArtifacts) bool {
	x, y := a.DeepCopy(), b.DeepCopy()
	x.DiscoveredAt, y.DiscoveredAt = nil, nil
	return equality.Semantic.DeepEqual(x, y)
}

func setCondition(st *haulv1.WarehouseStatus, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// setFailed records a failed pass on both conditions; discovered artifacts and
// lastFreightID keep their last good values.
func setFailed(st *haulv1.WarehouseStatus, gen int64, reason, msg string) {
	msg = strings.TrimSpace(msg)
	healthyReason := reason
	if reason == haulv1.ReasonInvalidConstraint {
		healthyReason = haulv1.ReasonDiscoveryFailed
	}
	setCondition(st, gen, haulv1.ConditionHealthy, metav1.ConditionFalse, healthyReason, msg)
	setCondition(st, gen, haulv1.ConditionReady, metav1.ConditionFalse, reason, msg)
}

func ready(wh *haulv1.Warehouse) bool {
	return meta.IsStatusConditionTrue(wh.Status.Conditions, haulv1.ConditionReady)
}

// timedSubscriber records how long each discovery takes in haul_discovery_duration_seconds.
type timedSubscriber struct {
	warehouse.Subscriber
	kind string
}

func (t timedSubscriber) Discover(ctx context.Context) (*warehouse.Result, error) {
	start := time.Now()
	res, err := t.Subscriber.Discover(ctx)
	result := "success"
	if err != nil {
		result = "error"
	}
	metrics.DiscoveryDuration.WithLabelValues(t.kind, result).Observe(time.Since(start).Seconds())
	return res, err
}

func subscriptionKind(sub haulv1.RepoSubscription) string {
	switch {
	case sub.Image != nil:
		return "image"
	case sub.Git != nil:
		return "git"
	case sub.Chart != nil:
		return "chart"
	}
	return "unknown"
}
