package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// cond is a condition as the table states it: "" status means absent.
type cond struct {
	status metav1.ConditionStatus
	reason string
}

func TestSummaryApplyFollowsKstatus(t *testing.T) {
	lastGood := []metav1.Condition{{Type: haulv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "DiscoverySucceeded", Message: "latest Freight abc"}}
	stalled := []metav1.Condition{
		{Type: haulv1.ConditionReady, Status: metav1.ConditionFalse, Reason: "InvalidConstraint"},
		{Type: haulv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "InvalidConstraint"},
	}
	for _, tc := range []struct {
		name        string
		before      []metav1.Condition
		summary     Summary
		ready       cond
		readyMsg    string
		reconciling cond
		stalled     cond
		requeue     time.Duration
		returnsErr  bool
		observed    bool
	}{
		{
			name:    "success is Ready and clears the others",
			before:  stalled,
			summary: Summary{ReadyReason: "DiscoverySucceeded", ReadyMessage: "ok", Interval: time.Minute},
			ready:   cond{metav1.ConditionTrue, "DiscoverySucceeded"}, readyMsg: "ok",
			requeue: time.Minute, observed: true,
		},
		{
			name:    "success without a reason says Reconciled",
			summary: Summary{},
			ready:   cond{metav1.ConditionTrue, haulv1.ReasonReconciled}, observed: true,
		},
		{
			name:    "an untyped error is transient: backoff, Reconciling Retrying",
			before:  lastGood,
			summary: Summary{Err: errors.New("connection refused"), FailureReason: "DiscoveryFailed", Interval: time.Minute},
			ready:   cond{metav1.ConditionFalse, "DiscoveryFailed"}, readyMsg: "connection refused",
			reconciling: cond{metav1.ConditionTrue, haulv1.ReasonRetrying},
			returnsErr:  true,
		},
		{
			name:        "a transient error's own reason wins over the default",
			summary:     Summary{Err: Retry("RegistryUnavailable", errors.New("503")), FailureReason: "DiscoveryFailed"},
			ready:       cond{metav1.ConditionFalse, "RegistryUnavailable"},
			reconciling: cond{metav1.ConditionTrue, haulv1.ReasonRetrying},
			returnsErr:  true,
		},
		{
			name:    "a wrapped typed error keeps its kind",
			summary: Summary{Err: fmt.Errorf("subscriptions[0]: %w", Stall("InvalidConstraint", errors.New(">=1.x"))), Interval: time.Hour},
			ready:   cond{metav1.ConditionFalse, "InvalidConstraint"}, readyMsg: "subscriptions[0]: >=1.x",
			stalled: cond{metav1.ConditionTrue, "InvalidConstraint"},
			requeue: time.Hour, observed: true,
		},
		{
			name:     "a stall without a reason is InvalidSpec and clears Reconciling",
			before:   []metav1.Condition{{Type: haulv1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Retrying"}},
			summary:  Summary{Err: Stall("", errors.New("bad"))},
			ready:    cond{metav1.ConditionFalse, haulv1.ReasonInvalidSpec},
			stalled:  cond{metav1.ConditionTrue, haulv1.ReasonInvalidSpec},
			observed: true,
		},
		{
			name:        "waiting is Ready=False and Reconciling, requeued when asked",
			before:      stalled,
			summary:     Summary{Err: Wait("RateLimited", 30*time.Second, errors.New("429")), Interval: time.Hour},
			ready:       cond{metav1.ConditionFalse, "RateLimited"},
			reconciling: cond{metav1.ConditionTrue, "RateLimited"},
			requeue:     30 * time.Second,
		},
		{
			name:        "waiting without a time falls back to the interval",
			summary:     Summary{Err: Wait("", 0, errors.New("namespace terminating")), Interval: time.Hour},
			ready:       cond{metav1.ConditionFalse, haulv1.ReasonProgressing},
			reconciling: cond{metav1.ConditionTrue, haulv1.ReasonProgressing},
			requeue:     time.Hour,
		},
		{
			name:    "a pause keeps the last real Ready",
			before:  lastGood,
			summary: Summary{Err: Pause("WaitingForRateLimit", 3*time.Minute, errors.New("host paused"))},
			ready:   cond{metav1.ConditionTrue, "DiscoverySucceeded"}, readyMsg: "latest Freight abc",
			reconciling: cond{metav1.ConditionTrue, "WaitingForRateLimit"},
			requeue:     3 * time.Minute,
		},
		{
			name:        "a pause before any result still says why it is not Ready",
			summary:     Summary{Err: Pause("WaitingForRateLimit", time.Minute, errors.New("host paused"))},
			ready:       cond{metav1.ConditionFalse, "WaitingForRateLimit"},
			reconciling: cond{metav1.ConditionTrue, "WaitingForRateLimit"},
			requeue:     time.Minute,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := append([]metav1.Condition(nil), tc.before...)
			tc.summary.Generation = 7
			out := tc.summary.Apply(&conds)
			check := func(typ string, want cond) {
				t.Helper()
				got := meta.FindStatusCondition(conds, typ)
				if want.status == "" {
					if got != nil {
						t.Errorf("%s is %s/%s; want it absent", typ, got.Status, got.Reason)
					}
					return
				}
				if got == nil || got.Status != want.status || got.Reason != want.reason {
					t.Errorf("%s is %+v; want %s/%s", typ, got, want.status, want.reason)
				}
			}
			check(haulv1.ConditionReady, tc.ready)
			check(haulv1.ConditionReconciling, tc.reconciling)
			check(haulv1.ConditionStalled, tc.stalled)
			if tc.readyMsg != "" {
				if got := meta.FindStatusCondition(conds, haulv1.ConditionReady).Message; got != tc.readyMsg {
					t.Errorf("Ready message %q; want %q", got, tc.readyMsg)
				}
			}
			if out.Result.RequeueAfter != tc.requeue {
				t.Errorf("requeue after %s; want %s", out.Result.RequeueAfter, tc.requeue)
			}
			if (out.Err != nil) != tc.returnsErr {
				t.Errorf("returned error %v; want one: %v", out.Err, tc.returnsErr)
			}
			if out.Observed != tc.observed {
				t.Errorf("observed %v; want %v", out.Observed, tc.observed)
			}
			// What Apply wrote records the generation; a kept Ready keeps its own.
			kept := tc.readyMsg == "latest Freight abc"
			for _, c := range conds {
				if c.ObservedGeneration != 7 && (!kept || c.Type != haulv1.ConditionReady) {
					t.Errorf("%s records generation %d; want 7", c.Type, c.ObservedGeneration)
				}
			}
		})
	}
}

func TestSummaryBoundsLongMessagesOnARuneBoundary(t *testing.T) {
	var conds []metav1.Condition
	long := strings.Repeat("é", MaxMessage) // two bytes each
	Summary{Err: errors.New(long)}.Apply(&conds)
	msg := meta.FindStatusCondition(conds, haulv1.ConditionReady).Message
	if len(msg) > MaxMessage || !strings.HasSuffix(msg, "...") || !utf8.ValidString(msg) {
		t.Errorf("message of %d bytes, valid UTF-8 %v; want at most %d ending in ...", len(msg), utf8.ValidString(msg), MaxMessage)
	}
}

func TestRunStopsAtTheFirstError(t *testing.T) {
	var ran []string
	step := func(name string, err error) Step[*[]string] {
		return func(_ context.Context, s *[]string) error { *s = append(*s, name); return err }
	}
	err := Run(context.Background(), &ran, step("get", nil), step("discover", Stall("X", errors.New("bad"))), step("freight", nil))
	if As(err).Kind != Stalling || strings.Join(ran, ",") != "get,discover" {
		t.Errorf("ran %v, err %v; want get,discover then the stall", ran, err)
	}
	if k := As(errors.New("plain")).Kind; k != Transient {
		t.Errorf("an untyped error is %s; want transient", k)
	}
}
