package promotion_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

// TestStepTimeoutFollowsKargo is scenario 17's semantics, as Kargo's
// PromotionStepRetry documents them: an unset retry.timeout takes the step kind's
// default (argocd-update and argocd-wait: 5m) or none; retry.timeout 0 waits
// without limit even where the step has a default; the timeout also ends a step that
// keeps erroring below its errorThreshold. A waiting step's message says which.
func TestStepTimeoutFollowsKargo(t *testing.T) {
	reg := promotion.NewRegistry()
	reg.Register("waits", func() promotion.Step {
		return promotion.WithDefaultTimeout(promotion.StepFunc(func(context.Context, *promotion.StepContext) (promotion.StepResult, error) {
			return promotion.StepResult{Status: promotion.StatusRunning, Message: "waiting for sync"}, nil
		}), 5*time.Minute)
	})
	reg.Register("errs", func() promotion.Step {
		return promotion.StepFunc(func(context.Context, *promotion.StepContext) (promotion.StepResult, error) {
			return promotion.StepResult{}, errors.New("connection refused")
		})
	})
	timeout := func(d time.Duration) *haulv1.StepRetry {
		return &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: d}}
	}
	cases := []struct {
		name  string
		step  haulv1.PromotionStep
		still time.Duration // still Running this long after the start
		ends  time.Duration // over after this long (0: never within 24h)
		phase haulv1.PromotionPhase
		note  string // in the Running message
		msg   string // in the final message
	}{
		{"unset takes the step's default", haulv1.PromotionStep{Uses: "waits", As: "sync"},
			4 * time.Minute, 6 * time.Minute, haulv1.PromotionFailed,
			"after 5m0s: the default of waits; set retry.timeout to change it)",
			`step "sync" failed: timed out after 5m0s (the default of waits; set retry.timeout to change it): waiting for sync`},
		{"retry.timeout beats the default", haulv1.PromotionStep{Uses: "waits", As: "sync", Retry: timeout(time.Minute)},
			30 * time.Second, 2 * time.Minute, haulv1.PromotionFailed,
			"after 1m0s: retry.timeout)", `step "sync" failed: timed out after 1m0s (retry.timeout): waiting for sync`},
		{"retry.timeout 0 waits without limit", haulv1.PromotionStep{Uses: "waits", As: "sync", Retry: timeout(0)},
			24 * time.Hour, 0, haulv1.PromotionRunning,
			"waiting for sync (no timeout: retry.timeout is 0, so it waits until the step finishes or the Promotion is aborted)", ""},
		{"the timeout ends retried errors", haulv1.PromotionStep{Uses: "errs", As: "call",
			Retry: &haulv1.StepRetry{ErrorThreshold: 100, Timeout: &metav1.Duration{Duration: time.Minute}}},
			30 * time.Second, 2 * time.Minute, haulv1.PromotionErrored,
			"error 2 of 100 allowed, will retry: connection refused",
			`step "call" errored: timed out after 1m0s (retry.timeout) while retrying errors: connection refused`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			e := &promotion.Engine{Registry: reg, Services: &promotion.Services{Now: func() time.Time { return now }}}
			req := promotion.Request{Steps: []haulv1.PromotionStep{c.step}, WorkDir: t.TempDir()}
			res, st := e.Run(context.Background(), req)
			if res.Phase != haulv1.PromotionRunning {
				t.Fatalf("first run: %s: %s", res.Phase, res.Message)
			}
			now = now.Add(c.still)
			req.State = st
			if res, st = e.Run(context.Background(), req); res.Phase != haulv1.PromotionRunning {
				t.Fatalf("after %s: %s: %s, want still Running", c.still, res.Phase, res.Message)
			}
			if !strings.Contains(st.Steps[0].Message, c.note) {
				t.Errorf("Running message %q does not say %q", st.Steps[0].Message, c.note)
			}
			if c.ends == 0 {
				return
			}
			now = now.Add(c.ends - c.still)
			req.State = st
			res, _ = e.Run(context.Background(), req)
			if res.Phase != c.phase || res.Message != c.msg {
				t.Fatalf("after %s: %s %q, want %s %q", c.ends, res.Phase, res.Message, c.phase, c.msg)
			}
		})
	}
}

// TestArgoCDStepsDefaultToFiveMinutes: the built-in steps Kargo gives a default
// timeout have the same one, and no other step has one.
func TestArgoCDStepsDefaultToFiveMinutes(t *testing.T) {
	reg := steps.Builtin()
	for _, name := range reg.Names() {
		s, _ := reg.Lookup(name)
		var got time.Duration
		if d, ok := s.(interface{ DefaultTimeout() time.Duration }); ok {
			got = d.DefaultTimeout()
		}
		want := time.Duration(0)
		if name == "argocd-update" || name == "argocd-wait" {
			want = 5 * time.Minute
		}
		if got != want {
			t.Errorf("%s: default timeout %s, want %s", name, got, want)
		}
	}
}
