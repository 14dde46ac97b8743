package notification

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// promotionEvents publishes an event when a Promotion starts and when it ends.
type promotionEvents struct {
	client.Client
	hub notify.Hub
	// since: transitions before it happened before this process started and were
	// published (or not) by the one before.
	since time.Time
}

func (r *promotionEvents) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &haulv1.Promotion{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if e, ok := rollbackEvent(p, r.since); ok {
		notify.Publish(ctx, r.hub, e)
	}
	if e, ok := promotionEvent(p, r.since); ok {
		notify.Publish(ctx, r.hub, e)
	}
	if e, ok := waitingEvent(p, r.since); ok {
		notify.Publish(ctx, r.hub, e)
	}
	return ctrl.Result{}, nil
}

// waitingEvent is PromotionWaitingForApproval for a Promotion whose current step is a
// running wait-for-approval step that started at or after since; once per step.
func waitingEvent(p *haulv1.Promotion, since time.Time) (notify.Event, bool) {
	i := int(p.Status.CurrentStep)
	if p.Status.Phase != haulv1.PromotionRunning || i >= len(p.Status.Steps) || i >= len(p.Status.StepExecutionMetadata) ||
		p.Status.Steps[i].Uses != pipeline.WaitForApprovalStep {
		return notify.Event{}, false
	}
	m := p.Status.StepExecutionMetadata[i]
	if m.Status != haulv1.StepRunning || m.StartedAt == nil || m.StartedAt.Time.Before(since.Truncate(time.Second)) {
		return notify.Event{}, false
	}
	return eventOf(p, haulv1.EventPromotionWaitingForApproval, fmt.Sprintf("%s/%s/%d", p.UID, haulv1.EventPromotionWaitingForApproval, i),
		m.Message, m.StartedAt.Time), true
}

// rollbackEvent is AutoRollbackCreated for a rollback Promotion made at or after since.
// It is published whatever phase the Promotion has reached when first seen.
func rollbackEvent(p *haulv1.Promotion, since time.Time) (notify.Event, bool) {
	if !promotion.IsRollback(p) || p.CreationTimestamp.Time.Before(since.Truncate(time.Second)) {
		return notify.Event{}, false
	}
	return eventOf(p, haulv1.EventAutoRollbackCreated, string(p.UID)+"/"+string(haulv1.EventAutoRollbackCreated),
		fmt.Sprintf("Stage %s is rolled back to Freight %s (Promotion %s)", p.Spec.Stage, p.Spec.Freight, p.Name), p.CreationTimestamp.Time), true
}

// promotionEvent is the event p's current phase stands for, if it has one that
// happened at or after since.
func promotionEvent(p *haulv1.Promotion, since time.Time) (notify.Event, bool) {
	var t haulv1.EventType
	at := p.Status.FinishedAt
	switch p.Status.Phase {
	case haulv1.PromotionRunning:
		t, at = haulv1.EventPromotionStarted, p.Status.StartedAt
	case haulv1.PromotionSucceeded:
		t = haulv1.EventPromotionSucceeded
	case haulv1.PromotionFailed:
		t = haulv1.EventPromotionFailed
	case haulv1.PromotionErrored:
		t = haulv1.EventPromotionErrored
	case haulv1.PromotionAborted:
		t = haulv1.EventPromotionAborted
	default:
		return notify.Event{}, false
	}
	if at == nil || at.Time.Before(since) {
		return notify.Event{}, false
	}
	return eventOf(p, t, string(p.UID)+"/"+string(t), p.Status.Message, at.Time), true
}

// eventOf is the event of type t about Promotion p, with the Freight as the Promotion
// recorded it when it started (alias and origin once it has).
func eventOf(p *haulv1.Promotion, t haulv1.EventType, id, message string, at time.Time) notify.Event {
	e := notify.Event{
		ID: id, Type: t, Project: p.Namespace, StageName: p.Spec.Stage, Name: p.Name,
		Freight: &notify.Freight{Name: p.Spec.Freight}, Actor: p.Annotations[haulv1.AnnotationCreateActor],
		Message: message, Time: at, Data: p,
	}
	if f := p.Status.Freight; f != nil {
		e.Freight.Alias = f.Alias
		e.Freight.Origin = f.Origin.Name
	}
	return e
}

// stageEvents publishes an event when a verification of a Stage's current Freight ends.
type stageEvents struct {
	client.Client
	hub   notify.Hub
	since time.Time
}

func (r *stageEvents) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := &haulv1.Stage{}
	if err := r.Get(ctx, req.NamespacedName, s); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	for _, e := range verificationEvents(s, r.since) {
		notify.Publish(ctx, r.hub, e)
	}
	return ctrl.Result{}, nil
}

// verificationEvents are the ended verifications of s's current Freight that finished
// at or after since.
func verificationEvents(s *haulv1.Stage, since time.Time) []notify.Event {
	if len(s.Status.FreightHistory) == 0 {
		return nil
	}
	c := s.Status.FreightHistory[0]
	var freight *notify.Freight
	for _, item := range c.Items {
		if freight == nil || item.Name < freight.Name {
			freight = &notify.Freight{Name: item.Name, Alias: item.Alias, Origin: item.Origin.Name}
		}
	}
	var out []notify.Event
	for _, v := range c.VerificationHistory {
		var t haulv1.EventType
		switch v.Phase {
		case haulv1.VerificationSucceeded:
			t = haulv1.EventVerificationSucceeded
		case haulv1.VerificationFailed:
			t = haulv1.EventVerificationFailed
		case haulv1.VerificationErrored:
			t = haulv1.EventVerificationErrored
		default:
			continue
		}
		if v.FinishedAt == nil || v.FinishedAt.Time.Before(since) {
			continue
		}
		out = append(out, notify.Event{
			ID: string(s.UID) + "/" + v.ID + "/" + string(t), Type: t, Project: s.Namespace, StageName: s.Name,
			Freight: freight, Message: v.Message, VerificationID: v.ID, Time: v.FinishedAt.Time, Data: s,
		})
	}
	return out
}
