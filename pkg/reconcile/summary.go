package reconcile

import (
	"context"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Step is one sub-reconciler. It reads and fills the scope S, a small struct the
// controller documents (the object, the status being built, what earlier steps
// found), and returns an error whose Kind decides what happens next.
type Step[S any] func(ctx context.Context, scope S) error

// Run calls steps in order and returns the first error; later steps do not run.
func Run[S any](ctx context.Context, scope S, steps ...Step[S]) error {
	for _, step := range steps {
		if err := step(ctx, scope); err != nil {
			return err
		}
	}
	return nil
}

// MaxMessage bounds a condition message written by Apply; longer ones end in "...".
const MaxMessage = 4096

// Summary is what one reconcile pass found, to be written into conditions.
type Summary struct {
	// Generation is the metadata.generation the pass acted on; every condition
	// written records it.
	Generation int64
	// Err is the first error a sub-reconciler returned; nil means success.
	Err error
	// ReadyReason and ReadyMessage describe success (default reason Reconciled).
	ReadyReason, ReadyMessage string
	// FailureReason is Ready's reason for an error that carries none (default
	// Retrying for transient errors, InvalidSpec for stalls, Progressing for waits).
	FailureReason string
	// Interval is the periodic requeue after success or a stall; 0 means none.
	Interval time.Duration
}

// Outcome is what Apply decided.
type Outcome struct {
	// Result and Err are what Reconcile returns: Err only for transient errors, so
	// controller-runtime backs off; Result carries every other requeue.
	Result ctrl.Result
	Err    error
	// Observed is true when status now reflects Generation (success or a stall), so
	// status.observedGeneration should be set to it.
	Observed bool
}

// Apply writes Ready, Reconciling and Stalled into conds by kstatus's rules and
// returns what the controller does next:
//
//	success:   Ready=True;  Reconciling, Stalled removed;           requeue after Interval
//	transient: Ready=False; Reconciling=True (Retrying);            error returned (backoff)
//	waiting:   Ready=False, or kept with KeepReady; Reconciling=True; requeue after RequeueAfter
//	stalling:  Ready=False; Stalled=True; Reconciling removed;      requeue after Interval
//
// Conditions other than these three are left to the sub-reconcilers that own them.
func (s Summary) Apply(conds *[]metav1.Condition) Outcome {
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: bound(msg), ObservedGeneration: s.Generation,
		})
	}
	if s.Err == nil {
		set(haulv1.ConditionReady, metav1.ConditionTrue, or(s.ReadyReason, haulv1.ReasonReconciled), s.ReadyMessage)
		meta.RemoveStatusCondition(conds, haulv1.ConditionReconciling)
		meta.RemoveStatusCondition(conds, haulv1.ConditionStalled)
		return Outcome{Result: ctrl.Result{RequeueAfter: s.Interval}, Observed: true}
	}
	e := As(s.Err)
	msg := strings.TrimSpace(s.Err.Error())
	switch e.Kind {
	case Stalling:
		reason := or(e.Reason, s.FailureReason, haulv1.ReasonInvalidSpec)
		set(haulv1.ConditionReady, metav1.ConditionFalse, reason, msg)
		set(haulv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		meta.RemoveStatusCondition(conds, haulv1.ConditionReconciling)
		return Outcome{Result: ctrl.Result{RequeueAfter: s.Interval}, Observed: true}
	case Waiting:
		reason := or(e.Reason, s.FailureReason, haulv1.ReasonProgressing)
		if !e.KeepReady || meta.FindStatusCondition(*conds, haulv1.ConditionReady) == nil {
			set(haulv1.ConditionReady, metav1.ConditionFalse, reason, msg)
		}
		set(haulv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
		meta.RemoveStatusCondition(conds, haulv1.ConditionStalled)
		after := e.RequeueAfter
		if after <= 0 {
			after = s.Interval
		}
		return Outcome{Result: ctrl.Result{RequeueAfter: after}}
	default:
		set(haulv1.ConditionReady, metav1.ConditionFalse, or(e.Reason, s.FailureReason, haulv1.ReasonRetrying), msg)
		set(haulv1.ConditionReconciling, metav1.ConditionTrue, haulv1.ReasonRetrying, msg)
		meta.RemoveStatusCondition(conds, haulv1.ConditionStalled)
		return Outcome{Err: s.Err}
	}
}

// or returns the first non-empty value.
func or(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func bound(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	return strings.ToValidUTF8(msg[:MaxMessage-3], "") + "..."
}
