package stage_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// answer records who's answer on the Promotion as the Haul server does.
func answer(t *testing.T, ns, name string, who pipeline.Responder, action, msg string) {
	t.Helper()
	must(t, retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		p := &haulv1.Promotion{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		if _, err := pipeline.RecordStepResponse(p, who, action, msg, time.Now()); err != nil {
			return err
		}
		return env.Client.Update(ctx, p)
	}))
}

func waitPromotion(t *testing.T, ns, name string, cond func(p *haulv1.Promotion) bool) *haulv1.Promotion {
	t.Helper()
	p := &haulv1.Promotion{}
	eventually(t, "promotion "+name, func() (bool, string) {
		must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p))
		return cond(p), string(p.Status.Phase) + ": " + p.Status.Message
	})
	return p
}

// A running Promotion pauses at wait-for-approval until two people approved (one of
// them from the required group), then goes on; a rejection fails it, naming who.
func TestWaitForApprovalPausesThePromotion(t *testing.T) {
	startManager(t)
	ns := project(t, "wait-approval", false)
	s := newStage(ns, "prod")
	s.Spec.PromotionTemplate.Spec.Steps = []haulv1.PromotionStep{
		{Uses: "wait-for-approval", As: "approve", Config: rawJSON(map[string]any{
			"minApprovals": 2, "pollInterval": "1h",
			"approvers": []any{map[string]any{"claim": "groups", "value": "leads", "required": true}, map[string]any{"claim": "email", "value": "bob@example.com"}},
		})},
		{Uses: "file-write", Config: rawJSON(map[string]any{"path": "promoted.txt", "contents": "${{ join(map(outputs.approve.responses, .user), ',') }}"})},
	}
	must(t, env.Client.Create(ctx, s))

	for _, tc := range []struct{ name, second, want string }{{"approved", pipeline.ActionApprove, "Succeeded"}, {"rejected", pipeline.ActionReject, "Failed"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFreight(t, ns, tc.name)
			manual(t, ns, "prod", f)
			var name string
			for _, p := range promotionsOf(t, ns, "prod") {
				if p.Spec.Freight == f.Name {
					name = p.Name
				}
			}
			waitPromotion(t, ns, name, func(p *haulv1.Promotion) bool {
				return p.Status.Phase == haulv1.PromotionRunning && strings.Contains(p.Status.Message, "waiting for approval: needs 0 of 2 approvals, an approval from groups leads")
			})
			answer(t, ns, name, pipeline.Responder{User: "bob@example.com"}, pipeline.ActionApprove, "")
			// The answer wakes the step well before its one-hour poll.
			waitPromotion(t, ns, name, func(p *haulv1.Promotion) bool {
				return strings.Contains(p.Status.Message, "needs 1 of 2 approvals, an approval from groups leads")
			})
			answer(t, ns, name, pipeline.Responder{User: "alice", Groups: []string{"oidc:leads"}}, tc.second, "not today")
			p := waitPromotion(t, ns, name, func(p *haulv1.Promotion) bool { return p.Status.Phase.IsTerminal() })
			if string(p.Status.Phase) != tc.want {
				t.Fatalf("promotion ended %s (%s), want %s", p.Status.Phase, p.Status.Message, tc.want)
			}
			if tc.want == "Failed" && !strings.Contains(p.Status.Message, "rejected by alice: not today") {
				t.Errorf("a rejected promotion says %q, want who rejected it and why", p.Status.Message)
			}
			if tc.want == "Succeeded" && !strings.Contains(string(p.Status.State.Raw), `"user":"alice"`) {
				t.Errorf("outputs.approve.responses does not list alice: %s", p.Status.State.Raw)
			}
		})
	}
}
