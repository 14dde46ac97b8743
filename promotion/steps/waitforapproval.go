package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// defaultApprovalPoll is Kargo's default pollInterval for wait-for-approval. The
// Promotion watch wakes the step as soon as an answer is recorded; polling is the
// fallback.
const defaultApprovalPoll = 30 * time.Second

var promotionGVR = schema.GroupVersionResource{Group: "haul.dev", Version: "v1alpha1", Resource: "promotions"}

// waitForApprovalConfig is shared with the Haul server, which checks answers against it.
type waitForApprovalConfig = pipeline.WaitForApprovalConfig

// waitForApproval stays Running until enough distinct eligible people approved the
// Promotion (`haul approve --promotion`, the REST API or the dashboard record their
// answers on it), and fails when one of them rejects it, naming who. Its output
// responses lists every answer in order. The answers live on the Promotion, so the
// wait survives a controller restart.
func waitForApproval(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg waitForApprovalConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	every := defaultApprovalPoll
	if cfg.PollInterval != "" {
		every, _ = time.ParseDuration(cfg.PollInterval) // Validate checked it
	}
	if sc.Services == nil || sc.Services.Dynamic == nil {
		return promotion.StepResult{}, promotion.Terminal(errors.New("wait-for-approval needs cluster access, which is not configured"))
	}
	u, err := sc.Services.Dynamic.Resource(promotionGVR).Namespace(sc.Project).Get(ctx, sc.Promotion, metav1.GetOptions{})
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("reading promotion %s for its approvals: %w", sc.Promotion, err)
	}
	p := &haulv1.Promotion{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
		return promotion.StepResult{}, fmt.Errorf("reading promotion %s: %w", sc.Promotion, err)
	}
	all, err := pipeline.StepResponses(p)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	d := pipeline.DecideApproval(&cfg, sc.Alias, all)
	responses := make([]any, 0, len(d.Responses))
	for _, r := range d.Responses {
		m := map[string]any{"user": r.User, "action": r.Action, "time": r.Time.Format(time.RFC3339)}
		if r.Message != "" {
			m["message"] = r.Message
		}
		responses = append(responses, m)
	}
	out := map[string]any{"responses": responses}
	switch {
	case d.Rejected != nil:
		msg := "rejected by " + d.Rejected.User
		if d.Rejected.Message != "" {
			msg += ": " + d.Rejected.Message
		}
		return promotion.StepResult{Status: promotion.StatusFailed, Output: out, Message: msg}, nil
	case d.Approved:
		var who []string
		for _, r := range d.Responses {
			if r.Action == pipeline.ActionApprove {
				who = append(who, r.User)
			}
		}
		return promotion.StepResult{Output: out, Message: "approved by " + strings.Join(who, ", ")}, nil
	}
	return promotion.StepResult{
		Status: promotion.StatusRunning, Output: out, RequeueAfter: every,
		Message: "waiting for approval: needs " + d.Waiting,
	}, nil
}
