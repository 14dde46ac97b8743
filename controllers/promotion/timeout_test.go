package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestStepsThatNeverFinishShowTheirTimeout is scenario 17 with the real http step on
// the real API server. The server answers, but never what successExpression wants,
// so the step reports Running forever:
//   - with retry.timeout 2s the Promotion ends Failed, its message naming the step,
//     the timeout and what it was waiting for;
//   - with retry.timeout 0 it keeps polling; after several polls it is still Running
//     and its message says it waits without limit, until aborted.
//
// A server that never answers at all makes each request time out (an error); with a
// high errorThreshold the timeout ends those retries too, Errored.
func TestStepsThatNeverFinishShowTheirTimeout(t *testing.T) {
	ns := env.Namespace(t, "promo-timeout")
	var polls atomic.Int64
	pending := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		polls.Add(1)
		_, _ = w.Write([]byte(`{"status":"pending"}`))
	}))
	t.Cleanup(pending.Close)
	silent := newHoldServer(t, func(*http.Request) bool { return true }, http.NotFoundHandler())
	startController(t, t.TempDir())
	wait := func(url string, retry *haulv1.StepRetry, extra map[string]any) []haulv1.PromotionStep {
		cfg := map[string]any{"url": url, "successExpression": "response.status == 204", "pollInterval": "200ms"}
		for k, v := range extra {
			cfg[k] = v
		}
		s := rawStep("http", "wait", cfg)
		s.Retry = retry
		return []haulv1.PromotionStep{s}
	}
	makeStage(t, ns, "bounded", wait(pending.URL, &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: 2 * time.Second}}, nil))
	makeStage(t, ns, "forever", wait(pending.URL, &haulv1.StepRetry{Timeout: &metav1.Duration{}}, nil))
	makeStage(t, ns, "silent", wait(silent.URL, &haulv1.StepRetry{ErrorThreshold: 100, Timeout: &metav1.Duration{Duration: 2 * time.Second}},
		map[string]any{"timeout": "500ms"}))
	makeFreight(t, ns, "ccddccddccd01", "1.0.0")

	bounded := promote(t, ns, "bounded", "ccddccddccd01")
	forever := promote(t, ns, "forever", "ccddccddccd01")
	silentP := promote(t, ns, "silent", "ccddccddccd01")

	p := waitTerminal(t, ns, bounded, 60*time.Second)
	want := `step "wait" failed: timed out after 2s (retry.timeout): waiting: successExpression not met (HTTP 200)`
	if p.Status.Phase != haulv1.PromotionFailed || p.Status.Message != want {
		t.Errorf("retry.timeout 2s: %s %q, want Failed %q", p.Status.Phase, p.Status.Message, want)
	}

	p = waitTerminal(t, ns, silentP, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored ||
		!strings.HasPrefix(p.Status.Message, `step "wait" errored: timed out after 2s (retry.timeout) while retrying errors: `) {
		t.Errorf("silent server: %s %q, want Errored by the timeout", p.Status.Phase, p.Status.Message)
	}

	// The bounded Promotion took over 2s of polling; the unbounded one has been
	// polling as long and must keep going.
	start := time.Now()
	before := polls.Load()
	eventually(t, 60*time.Second, "more polls of the unbounded step", func() bool {
		return polls.Load() >= before+5 && time.Since(start) > 3*time.Second
	})
	p = phase(t, ns, forever)
	note := `step "wait": waiting: successExpression not met (HTTP 200) (no timeout: retry.timeout is 0, so it waits until the step finishes or the Promotion is aborted)`
	if p.Status.Phase != haulv1.PromotionRunning || p.Status.Message != note {
		t.Fatalf("retry.timeout 0: %s %q, want Running %q", p.Status.Phase, p.Status.Message, note)
	}
	if _, p := abortAndMeasure(t, ns, forever); p.Status.Phase != haulv1.PromotionAborted {
		t.Fatalf("abort of the unbounded wait: %s: %s", p.Status.Phase, p.Status.Message)
	}
}
