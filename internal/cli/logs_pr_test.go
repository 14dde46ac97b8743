package cli

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestLogsShowThePullRequest: a Promotion waiting on a pull request says so in
// `haul logs`, with the link a user opens, and the step that opened it shows it too.
func TestLogsShowThePullRequest(t *testing.T) {
	pr := &haulv1.PullRequestStatus{URL: "https://git.example/acme/deploy/pulls/7", Number: 7, State: haulv1.PullRequestOpen}
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: "prod.01"},
		Spec:       haulv1.PromotionSpec{Stage: "prod", Freight: "3f2a1b0c9d8e"},
		Status: haulv1.PromotionStatus{
			Phase: haulv1.PromotionRunning, CurrentStep: 1,
			Steps: []haulv1.PromotionStep{{Uses: "git-open-pr", As: "open"}, {Uses: "git-wait-for-pr", As: "wait"}},
			StepExecutionMetadata: []haulv1.StepExecutionMetadata{
				{Alias: "open", Status: haulv1.StepSucceeded, PullRequest: pr},
				{Alias: "wait", Status: haulv1.StepRunning, PullRequest: pr},
			},
		},
	}
	var b bytes.Buffer
	if err := writeLogs(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"PR:        #7 open https://git.example/acme/deploy/pulls/7, waiting for review",
		"  pull request #7 open https://git.example/acme/deploy/pulls/7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("haul logs lacks %q:\n%s", want, out)
		}
	}

	// Merged: the link stays, the waiting does not.
	merged := *pr
	merged.State = haulv1.PullRequestMerged
	p.Status.Phase = haulv1.PromotionSucceeded
	p.Status.StepExecutionMetadata[1] = haulv1.StepExecutionMetadata{Alias: "wait", Status: haulv1.StepSucceeded, PullRequest: &merged}
	b.Reset()
	if err := writeLogs(&b, p); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "PR:        #7 merged https://git.example/acme/deploy/pulls/7\n") || strings.Contains(out, "waiting for review") {
		t.Errorf("a merged pull request is shown wrongly:\n%s", out)
	}
}
