package reconcile

import (
	"errors"
	"time"
)

// Kind says what an error means for the object being reconciled, and so what the
// controller does next.
type Kind int

const (
	// Transient errors may pass on their own (a network fault, a conflict, a server
	// answering 500). The controller retries with exponential backoff; Ready is False
	// and Reconciling True with reason Retrying. Untyped errors are transient.
	Transient Kind = iota
	// Waiting means the object waits on something outside it that will change without
	// help: a rate-limit pause, a running Promotion, a namespace still terminating.
	// The controller checks again after RequeueAfter; Reconciling is True.
	Waiting
	// Stalling means no retry can help until someone changes the object or what it
	// refers to: an invalid constraint, a cycle, a name another tenant owns. The
	// controller stops retrying on a timer; Stalled and Ready=False say why.
	Stalling
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Waiting:
		return "waiting"
	case Stalling:
		return "stalling"
	default:
		return "transient"
	}
}

// Error is an error with the meaning a controller needs: its kind, the condition
// reason to show, and for Waiting when to look again.
type Error struct {
	// Kind decides requeue and which conditions are set.
	Kind Kind
	// Reason is the CamelCase condition reason shown on Ready (and on Stalled or
	// Reconciling); empty means the summary's default for the kind.
	Reason string
	// RequeueAfter is when a Waiting object is checked again (0: the summary's
	// default interval).
	RequeueAfter time.Duration
	// KeepReady leaves Ready with its last real result while Waiting: a pause the
	// object did not cause is shown beside that result, never in place of it.
	KeepReady bool
	// Err is the cause; its message becomes the condition message.
	Err error
}

// Error returns the cause's message.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Stall reports that err cannot be fixed by retrying.
func Stall(reason string, err error) error {
	return &Error{Kind: Stalling, Reason: reason, Err: err}
}

// Wait reports that the object waits on something outside it until about after.
func Wait(reason string, after time.Duration, err error) error {
	return &Error{Kind: Waiting, Reason: reason, RequeueAfter: after, Err: err}
}

// Pause is Wait that keeps the Ready condition's last real result.
func Pause(reason string, after time.Duration, err error) error {
	return &Error{Kind: Waiting, Reason: reason, RequeueAfter: after, KeepReady: true, Err: err}
}

// Retry reports a transient err with the reason Ready should show.
func Retry(reason string, err error) error {
	return &Error{Kind: Transient, Reason: reason, Err: err}
}

// As returns err as an *Error; an untyped error is Transient with no reason.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Transient, Err: err}
}
