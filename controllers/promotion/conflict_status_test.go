package promotion_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
)

// conflictCounter counts the API server's 409 answers to status writes of Promotions.
type conflictCounter struct {
	rt        http.RoundTripper
	conflicts *atomic.Int64
}

func (c conflictCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusConflict && strings.Contains(r.URL.Path, "/promotions/") && strings.HasSuffix(r.URL.Path, "/status") {
		c.conflicts.Add(1)
	}
	return resp, err
}

// TestStatusConflictIsRetriedWithoutLosingProgress is scenario 16's conflict on the
// real API server: while the Promotion's first step runs, another writer updates
// the Promotion (an annotation, as `haul approve --promotion` or an abort would), so
// the controller's next status write carries a stale resourceVersion and is refused
// with 409. The controller re-reads and writes again: the Promotion ends Succeeded,
// the other writer's annotation is kept, the first step's output reaches the second
// step, and the first step ran once (its progress was not lost and replayed).
func TestStatusConflictIsRetriedWithoutLosingProgress(t *testing.T) {
	ns := env.Namespace(t, "promo-conflict-status")
	var conflicts atomic.Int64
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return conflictCounter{rt, &conflicts} })
	startControllerOn(t, cfg, promotion.Options{WorkDir: t.TempDir()})

	var calls atomic.Int64
	var name atomic.Value
	writer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				p := &haulv1.Promotion{}
				if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name.Load().(string)}, p); err != nil {
					return err
				}
				if p.Annotations == nil {
					p.Annotations = map[string]string{}
				}
				p.Annotations["test.haul.dev/other-writer"] = "was here"
				return env.Client.Update(context.Background(), p)
			})
			if err != nil {
				t.Errorf("the other writer: %v", err)
			}
		}
		_, _ = w.Write([]byte(`{"answer":"42"}`))
	}))
	t.Cleanup(writer.Close)
	makeStage(t, ns, "s", []haulv1.PromotionStep{
		rawStep("http", "call", map[string]any{"url": writer.URL, "outputs": []any{
			map[string]any{"name": "answer", "fromExpression": "response.body.answer"}}}),
		rawStep("compose-output", "after", map[string]any{"got": "${{ outputs.call.answer }}"}),
	})
	makeFreight(t, ns, "ababababab016", "1.0.0")
	p := &haulv1.Promotion{}
	p.Namespace, p.Name = ns, "s.conflict"
	p.Spec = haulv1.PromotionSpec{Stage: "s", Freight: "ababababab016"}
	name.Store(p.Name)
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	p = waitTerminal(t, ns, p.Name, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", p.Status.Phase, p.Status.Message)
	}
	if conflicts.Load() == 0 {
		t.Fatal("the controller's status writes never met a conflict: the test did not exercise scenario 16")
	}
	if got := p.Annotations["test.haul.dev/other-writer"]; got != "was here" {
		t.Errorf("the other writer's annotation is %q, want it kept", got)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the first step ran %d times, want once: its progress was lost to the conflict and replayed", n)
	}
	if len(p.Status.StepExecutionMetadata) != 2 {
		t.Fatalf("step metadata: %+v", p.Status.StepExecutionMetadata)
	}
	for _, s := range p.Status.StepExecutionMetadata {
		if s.Status != haulv1.StepSucceeded {
			t.Errorf("step %s: %s %s", s.Alias, s.Status, s.Message)
		}
	}
	if p.Status.State == nil || !strings.Contains(string(p.Status.State.Raw), `"after":{"got":"42"}`) {
		t.Errorf("outputs %v, want the first step's answer in the second's", p.Status.State)
	}
	t.Logf("%d conflicts met and retried", conflicts.Load())
}
