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

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/credentials"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/reconcile"
	"github.com/haul-dev/haul/pkg/redact"
	"github.com/haul-dev/haul/warehouse"
)

// maxParallelSubscriptions bounds how many subscriptions of one Warehouse are polled at once.
const maxParallelSubscriptions = 4

// scope is what one reconcile pass of a Warehouse works on. The sub-reconcilers run
// in order and each fills the fields the next one reads; status is patched once, by
// Reconcile, after the last one.
type scope struct {
	// wh is the Warehouse as read; it is never modified.
	wh *haulv1.Warehouse
	// st is the status being built; it starts as a copy of wh.Status, so a failed
	// pass keeps the last good artifacts and lastFreightID.
	st *haulv1.WarehouseStatus
	// used holds the credentials handed out in this pass: every message written or
	// returned is masked with it, as is anything credential-like a server echoed.
	used redact.Values

	// criteria and subs are the compiled spec (reconcileSubscriptions).
	criteria *warehouse.Criteria
	subs     []warehouse.Subscriber
	// results are what every subscription found (reconcileDiscovery).
	results []*warehouse.Result
	// message is Ready's message on success.
	message string
}

// reconcileSubscriptions compiles the spec. A spec that cannot work as written
// stalls: retrying cannot help until it changes.
func (r *Reconciler) reconcileSubscriptions(_ context.Context, sc *scope) error {
	criteria, subs, err := r.subscribers(sc.wh, &sc.used)
	if err != nil {
		r.setHealthy(sc, metav1.ConditionFalse, haulv1.ReasonDiscoveryFailed, err.Error())
		return reconcile.Stall(haulv1.ReasonInvalidConstraint, err)
	}
	sc.criteria, sc.subs = criteria, subs
	return nil
}

// reconcileDiscovery polls every subscription and records the artifacts found. A
// failure of the Warehouse's own is transient (backoff); a 429 answered to it waits
// for the Retry-After; a pause another Warehouse's 429 caused waits beside the last
// real result.
func (r *Reconciler) reconcileDiscovery(ctx context.Context, sc *scope) error {
	dctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	results, errs := runAll(dctx, sc.subs)
	cancel()
	out := classify(errs)
	switch {
	case out.failed != nil:
		r.setHealthy(sc, metav1.ConditionFalse, haulv1.ReasonDiscoveryFailed, out.failed.Error())
		return reconcile.Retry(haulv1.ReasonDiscoveryFailed, out.failed)
	case out.limited != nil:
		r.setHealthy(sc, metav1.ConditionFalse, haulv1.ReasonRateLimited, out.limited.Error())
		return reconcile.Wait(haulv1.ReasonRateLimited, jitter(max(out.limited.RetryAfter, time.Second)), out.limited)
	case out.paused != nil:
		return reconcile.Pause(haulv1.ReasonWaitingForRateLimit, jitter(max(out.paused.Until.Sub(r.Now()), time.Second)), out.paused)
	}
	r.setHealthy(sc, metav1.ConditionTrue, haulv1.ReasonDiscoverySucceeded, "All subscriptions answered")

	artifacts := toArtifacts(results)
	if old := sc.wh.Status.DiscoveredArtifacts; old != nil && sameArtifacts(old, artifacts) {
		artifacts.DiscoveredAt = old.DiscoveredAt
	} else {
		now := metav1.NewTime(r.Now().UTC().Truncate(time.Second))
		artifacts.DiscoveredAt = &now
	}
	sc.st.DiscoveredArtifacts = artifacts
	sc.results = results
	sc.message = fmt.Sprintf("Discovered artifacts for %d subscription(s)", len(results))
	return nil
}

// reconcileFreight mints the Freight for this discovery when the policy is
// Automatic. Creation criteria that cannot be evaluated stall.
func (r *Reconciler) reconcileFreight(ctx context.Context, sc *scope) error {
	if policy := sc.wh.Spec.FreightCreationPolicy; policy != "" && policy != haulv1.FreightCreationAutomatic {
		sc.message += "; freightCreationPolicy is Manual"
		return nil
	}
	msg, err := r.mintFreight(ctx, sc.wh, sc.st, sc.results, sc.criteria)
	if err != nil {
		if warehouse.IsInvalidConstraint(err) {
			return reconcile.Stall(haulv1.ReasonInvalidConstraint, err)
		}
		return err
	}
	sc.message += "; " + msg
	return nil
}

// setHealthy records whether the subscriptions answered, masked like every message.
func (r *Reconciler) setHealthy(sc *scope, status metav1.ConditionStatus, reason, msg string) {
	setCondition(sc.st, sc.wh.Generation, haulv1.ConditionHealthy, status, reason, sc.used.String(strings.TrimSpace(msg)))
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
