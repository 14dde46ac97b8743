package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func waitingPromotion(config string) *haulv1.Promotion {
	p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "prod.1"}}
	p.Status.Phase = haulv1.PromotionRunning
	p.Status.CurrentStep = 1
	p.Status.Steps = []haulv1.PromotionStep{{Uses: "git-clone"}, {Uses: WaitForApprovalStep, As: "approve"}}
	if config != "" {
		p.Status.Steps[1].Config = &apiextensionsv1.JSON{Raw: []byte(config)}
	}
	return p
}

// Quorum with a required approver, as in Kargo's example: two distinct approvals, one
// from platform-leads; answering twice counts once; a rejection fails it; strangers
// cannot answer a step that lists approvers.
func TestWaitForApprovalDecisions(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	cfgJSON := `{"minApprovals":2,"approvers":[{"claim":"groups","value":"platform-leads","required":true},{"role":"release-manager"}]}`
	p := waitingPromotion(cfgJSON)
	_, cfg, err := WaitingApprovalStep(p)
	if err != nil {
		t.Fatal(err)
	}
	decide := func() ApprovalDecision {
		all, err := StepResponses(p)
		if err != nil {
			t.Fatal(err)
		}
		return DecideApproval(cfg, "approve", all)
	}
	bob := Responder{User: "oidc:bob", Roles: []string{"release-manager"}}
	alice := Responder{User: "oidc:alice", Groups: []string{"oidc:platform-leads"}}
	eve := Responder{User: "oidc:eve", Groups: []string{"oidc:dev"}}

	if _, err := RecordStepResponse(p, eve, ActionApprove, "", now); !errors.Is(err, ErrNotApprover) {
		t.Fatalf("a stranger's approval: err = %v, want ErrNotApprover", err)
	}
	if _, err := RecordStepResponse(p, bob, ActionApprove, "", now); err != nil {
		t.Fatal(err)
	}
	if _, err := RecordStepResponse(p, bob, ActionApprove, "again", now); err != nil {
		t.Fatal(err)
	}
	if d := decide(); d.Approved || !strings.Contains(d.Waiting, "1 of 2 approvals") || !strings.Contains(d.Waiting, "groups platform-leads") {
		t.Fatalf("after bob twice: %+v, want waiting for 1 of 2 and the required group", d)
	}
	if _, err := RecordStepResponse(p, alice, ActionApprove, "lgtm", now); err != nil {
		t.Fatal(err)
	}
	if d := decide(); !d.Approved || len(d.Responses) != 2 || d.Responses[1].Message != "lgtm" {
		t.Fatalf("after alice: %+v, want approved with two responses", d)
	}
	// Two approvals without the required group are not enough.
	p2 := waitingPromotion(cfgJSON)
	for _, r := range []Responder{bob, {User: "carol", Roles: []string{"release-manager"}}} {
		if _, err := RecordStepResponse(p2, r, ActionApprove, "", now); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := StepResponses(p2)
	if d := DecideApproval(cfg, "approve", all); d.Approved || d.Waiting != "an approval from groups platform-leads" {
		t.Fatalf("two approvals without the required group: %+v", d)
	}
	// A rejection wins.
	if _, err := RecordStepResponse(p2, alice, ActionReject, "not on a Friday", now); err != nil {
		t.Fatal(err)
	}
	all, _ = StepResponses(p2)
	if d := DecideApproval(cfg, "approve", all); d.Approved || d.Rejected == nil || d.Rejected.User != "oidc:alice" || d.Rejected.Message != "not on a Friday" {
		t.Fatalf("after alice rejects: %+v", d)
	}
}

func TestWaitForApprovalRefusals(t *testing.T) {
	now := time.Now()
	anyone := Responder{User: "x"}
	for name, tc := range map[string]struct {
		p    *haulv1.Promotion
		want string
	}{
		"not running": {func() *haulv1.Promotion {
			p := waitingPromotion("")
			p.Status.Phase = haulv1.PromotionSucceeded
			return p
		}(), "is Succeeded"},
		"another step":     {func() *haulv1.Promotion { p := waitingPromotion(""); p.Status.CurrentStep = 0; return p }(), "no wait-for-approval step"},
		"expressions":      {waitingPromotion(`{"minApprovals":"${{ vars.n }}"}`), "uses expressions"},
		"claim and role":   {waitingPromotion(`{"approvers":[{"claim":"groups","value":"a","role":"r"}]}`), "approvers[0]: set either claim and value or role"},
		"claim, no value":  {waitingPromotion(`{"approvers":[{"claim":"groups"}]}`), "approvers[0]: claim \"groups\" needs a value"},
		"negative minimum": {waitingPromotion(`{"minApprovals":-1}`), "minApprovals -1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := RecordStepResponse(tc.p, anyone, ActionApprove, "", now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := RecordStepResponse(waitingPromotion(""), anyone, "maybe", "", now); err == nil || !strings.Contains(err.Error(), `action "maybe"`) {
		t.Fatalf("bad action: %v", err)
	}
	// Without approvers anyone who can read the Promotion may answer; one approval is enough.
	p := waitingPromotion("")
	if _, err := RecordStepResponse(p, anyone, ActionApprove, "", now); err != nil {
		t.Fatal(err)
	}
	_, cfg, _ := WaitingApprovalStep(p)
	all, _ := StepResponses(p)
	if d := DecideApproval(cfg, "approve", all); !d.Approved {
		t.Fatalf("one approval with no approvers listed: %+v", d)
	}
}
