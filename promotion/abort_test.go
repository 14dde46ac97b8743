package promotion_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// TestAbortCancelsABlockedStep: closing Request.Abort while an http step waits on a
// server that never answers stops the step at once; the run ends Aborted with the step
// recorded Aborted, not Errored by the cancellation.
func TestAbortCancelsABlockedStep(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	abort := make(chan struct{})
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	type out struct {
		res promotion.Result
		st  promotion.State
	}
	done := make(chan out, 1)
	go func() {
		res, st := e.Run(context.Background(), promotion.Request{
			Project: "p", Stage: "s", Promotion: "pr", Freight: freight("1"), WorkDir: t.TempDir(), Abort: abort,
			Steps: []haulv1.PromotionStep{step("http", "wait", map[string]any{"url": srv.URL, "timeout": "10m"})},
		})
		done <- out{res, st}
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the step never reached the server")
	}
	closed := time.Now()
	close(abort)
	var o out
	select {
	case o = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the step kept running after the abort")
	}
	if took := time.Since(closed); took > 5*time.Second {
		t.Fatalf("the run stopped %s after the abort", took)
	}
	if o.res.Phase != haulv1.PromotionAborted || o.st.Steps[0].Status != haulv1.StepAborted {
		t.Fatalf("phase %s (%s), step %s: %s", o.res.Phase, o.res.Message, o.st.Steps[0].Status, o.st.Steps[0].Message)
	}
	if want := `Promotion aborted while step "wait" was running`; o.res.Message != want {
		t.Fatalf("message %q, want %q", o.res.Message, want)
	}
}

// TestHTTPStepTimeoutsAreAtMost24h: the http step refuses a timeout or pollInterval over
// 24h, naming the field and the value.
func TestHTTPStepTimeoutsAreAtMost24h(t *testing.T) {
	for field, v := range map[string]string{"timeout": "1000h", "pollInterval": "25h"} {
		t.Run(field, func(t *testing.T) {
			res, _ := runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{"url": "https://x.example/", field: v}))
			mustFail(t, res, field+` "`+v+`" is longer than the maximum of 24h`)
		})
	}
}
