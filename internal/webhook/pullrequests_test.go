package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// waitingPromotion creates a Running Promotion whose current step waits on prURL.
func waitingPromotion(t *testing.T, ns, name, prURL string, number int64) {
	t.Helper()
	ctx := context.Background()
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       haulv1.PromotionSpec{Stage: "prod", Freight: "f1"},
	}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status = haulv1.PromotionStatus{
		Phase: haulv1.PromotionRunning, CurrentStep: 1,
		StepExecutionMetadata: []haulv1.StepExecutionMetadata{
			{Alias: "open-pr", Status: haulv1.StepSucceeded},
			{Alias: "wait", Status: haulv1.StepRunning, Message: "waiting for review",
				PullRequest: &haulv1.PullRequestStatus{URL: prURL, Number: number, State: haulv1.PullRequestOpen}},
		},
	}
	if err := env.Client.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
}

func promotionRefresh(t *testing.T, ns, name string) string {
	t.Helper()
	p := &haulv1.Promotion{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	return p.Annotations[haulv1.AnnotationRefresh]
}

// TestPullRequestEventsWakeTheWaitingPromotion posts the pull request events of
// GitHub, GitLab, Gitea, Bitbucket Cloud and Azure DevOps (payload shapes as their documentation gives them) and
// checks that exactly the Promotions waiting on that pull request get a new
// haul.dev/refresh value, and that forged, unsigned, unrelated or still-open events
// wake nothing.
func TestPullRequestEventsWakeTheWaitingPromotion(t *testing.T) {
	const p = "prhooks"
	srv := setup(t, p)
	ctx := context.Background()
	pc := &haulv1.ProjectConfig{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: p, Name: p}, pc); err != nil {
		t.Fatal(err)
	}
	pc.Spec.WebhookReceivers = append(pc.Spec.WebhookReceivers, haulv1.WebhookReceiver{Name: "gitea", Gitea: ref()},
		haulv1.WebhookReceiver{Name: "bb", Bitbucket: ref()}, haulv1.WebhookReceiver{Name: "azure", Azure: ref()})
	if err := env.Client.Update(ctx, pc); err != nil {
		t.Fatal(err)
	}
	const (
		ghPR    = "https://github.com/acme/app/pull/7"
		glMR    = "https://gitlab.com/acme/app/-/merge_requests/3"
		giteaPR = "http://gitea.local:3000/acme/app/pulls/5"
		bbPR    = "https://bitbucket.org/acme/app/pull-requests/9"
		azurePR = "https://dev.azure.com/acme/Shop%20Floor/_git/app/pullrequest/11"
	)
	waitingPromotion(t, p, "gh-waits", ghPR, 7)
	waitingPromotion(t, p, "gh-other", "https://github.com/acme/app/pull/8", 8)
	waitingPromotion(t, p, "gl-waits", glMR, 3)
	waitingPromotion(t, p, "gitea-waits", giteaPR, 5)
	waitingPromotion(t, p, "bb-waits", bbPR, 9)
	waitingPromotion(t, p, "azure-waits", azurePR, 11)
	all := []string{"gh-waits", "gh-other", "gl-waits", "gitea-waits", "bb-waits", "azure-waits"}

	ghClosed := []byte(`{"action":"closed","number":7,"pull_request":{"html_url":"https://github.com/Acme/App/pull/7/","number":7,"merged":true}}`)
	ghOpened := []byte(`{"action":"opened","number":7,"pull_request":{"html_url":"https://github.com/acme/app/pull/7","number":7}}`)
	glMerged := []byte(`{"object_kind":"merge_request","object_attributes":{"iid":3,"action":"merge","state":"merged","url":"https://gitlab.com/acme/app/-/merge_requests/3"}}`)
	glUpdate := []byte(`{"object_kind":"merge_request","object_attributes":{"iid":3,"action":"update","url":"https://gitlab.com/acme/app/-/merge_requests/3"}}`)
	giteaClosed := []byte(`{"action":"closed","number":5,"pull_request":{"html_url":"http://gitea.local:3000/acme/app/pulls/5","merged":false}}`)
	// Bitbucket Cloud: the event key says what happened; the payload has the link.
	bbFulfilled := []byte(`{"actor":{"nickname":"rev"},"pullrequest":{"id":9,"state":"MERGED","links":{"html":{"href":"https://bitbucket.org/acme/app/pull-requests/9"}}},"repository":{"full_name":"acme/app"}}`)
	bbApproved := []byte(`{"pullrequest":{"id":9,"state":"OPEN","links":{"html":{"href":"https://bitbucket.org/acme/app/pull-requests/9"}}}}`)
	// Azure DevOps: no link to the pull request, only the repository's; the clone URL
	// carries the organisation as a user name.
	azureMerged := []byte(`{"eventType":"git.pullrequest.merged","resource":{"pullRequestId":11,"status":"completed","mergeStatus":"succeeded","repository":{"name":"app","remoteUrl":"https://acme@dev.azure.com/acme/Shop%20Floor/_git/app"}}}`)
	azureConflicts := []byte(`{"eventType":"git.pullrequest.merged","resource":{"pullRequestId":11,"status":"active","mergeStatus":"conflicts","repository":{"remoteUrl":"https://acme@dev.azure.com/acme/Shop%20Floor/_git/app"}}}`)
	azureAbandoned := []byte(`{"eventType":"git.pullrequest.updated","resource":{"pullRequestId":11,"status":"abandoned","repository":{"webUrl":"https://dev.azure.com/acme/Shop%20Floor/_git/app"}}}`)
	azureOther := []byte(`{"eventType":"git.pullrequest.updated","resource":{"pullRequestId":12,"status":"completed","repository":{"webUrl":"https://dev.azure.com/acme/Shop%20Floor/_git/app"}}}`)
	basic := func(pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte("hook:"+pw)) }
	noURL := []byte(`{"action":"closed","pull_request":{}}`)
	badURL := []byte(`{"action":"closed","pull_request":{"html_url":"javascript:alert(1)"}}`)
	tests := []struct {
		name     string
		receiver string
		body     []byte
		headers  map[string]string
		code     int
		want     []string
	}{
		{"github forged signature", "gh", ghClosed, map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("ab", 32), "X-GitHub-Event": "pull_request"}, 401, nil},
		{"github unsigned", "gh", ghClosed, map[string]string{"X-GitHub-Event": "pull_request"}, 401, nil},
		{"github opened is not an end", "gh", ghOpened, map[string]string{"X-Hub-Signature-256": sign(ghOpened), "X-GitHub-Event": "pull_request"}, 200, nil},
		{"github closed", "gh", ghClosed, map[string]string{"X-Hub-Signature-256": sign(ghClosed), "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "pr-1"}, 200, []string{"gh-waits"}},
		{"github replayed delivery", "gh", ghClosed, map[string]string{"X-Hub-Signature-256": sign(ghClosed), "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "pr-1"}, 400, nil},
		{"github no pull request url", "gh", noURL, map[string]string{"X-Hub-Signature-256": sign(noURL), "X-GitHub-Event": "pull_request"}, 400, nil},
		{"github non-http url", "gh", badURL, map[string]string{"X-Hub-Signature-256": sign(badURL), "X-GitHub-Event": "pull_request"}, 400, nil},
		{"gitlab wrong token", "gl", glMerged, map[string]string{"X-Gitlab-Token": "nope", "X-Gitlab-Event": "Merge Request Hook"}, 401, nil},
		{"gitlab update is not an end", "gl", glUpdate, map[string]string{"X-Gitlab-Token": secretValue, "X-Gitlab-Event": "Merge Request Hook"}, 200, nil},
		{"gitlab merged", "gl", glMerged, map[string]string{"X-Gitlab-Token": secretValue, "X-Gitlab-Event": "Merge Request Hook"}, 200, []string{"gl-waits"}},
		{"gitea signed with another secret", "gitea", giteaClosed, map[string]string{"X-Hub-Signature-256": signWith("other-secret", giteaClosed), "X-Gitea-Event": "pull_request"}, 401, nil},
		{"gitea event at the github receiver", "gh", giteaClosed, map[string]string{"X-Hub-Signature-256": sign(giteaClosed), "X-Gitea-Event": "pull_request", "X-GitHub-Event": "issues"}, 400, nil},
		{"gitea closed", "gitea", giteaClosed, map[string]string{"X-Hub-Signature-256": sign(giteaClosed), "X-Gitea-Event": "pull_request", "X-Gitea-Delivery": "g-1"}, 200, []string{"gitea-waits"}},
		{"bitbucket forged signature", "bb", bbFulfilled, map[string]string{"X-Hub-Signature": signWith("other-secret", bbFulfilled), "X-Event-Key": "pullrequest:fulfilled"}, 401, nil},
		{"bitbucket approved is not an end", "bb", bbApproved, map[string]string{"X-Hub-Signature": sign(bbApproved), "X-Event-Key": "pullrequest:approved"}, 200, nil},
		{"bitbucket fulfilled", "bb", bbFulfilled, map[string]string{"X-Hub-Signature": sign(bbFulfilled), "X-Event-Key": "pullrequest:fulfilled"}, 200, []string{"bb-waits"}},
		{"bitbucket rejected", "bb", bbFulfilled, map[string]string{"X-Hub-Signature": sign(bbFulfilled), "X-Event-Key": "pullrequest:rejected"}, 200, []string{"bb-waits"}},
		{"bitbucket no link", "bb", noURL, map[string]string{"X-Hub-Signature": sign(noURL), "X-Event-Key": "pullrequest:fulfilled"}, 400, nil},
		{"azure wrong password", "azure", azureMerged, map[string]string{"Authorization": basic("nope")}, 401, nil},
		{"azure merge with conflicts is not an end", "azure", azureConflicts, map[string]string{"Authorization": basic(secretValue)}, 200, nil},
		{"azure merged", "azure", azureMerged, map[string]string{"Authorization": basic(secretValue)}, 200, []string{"azure-waits"}},
		{"azure abandoned", "azure", azureAbandoned, map[string]string{"Authorization": basic(secretValue)}, 200, []string{"azure-waits"}},
		{"azure another pull request", "azure", azureOther, map[string]string{"Authorization": basic(secretValue)}, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]string{}
			for _, n := range all {
				before[n] = promotionRefresh(t, p, n)
			}
			time.Sleep(2 * time.Millisecond)
			code, body := post(t, srv.URL+"/webhooks/"+p+"/"+tt.receiver, tt.body, tt.headers)
			if code != tt.code {
				t.Fatalf("status %d (%s), want %d", code, body, tt.code)
			}
			want := map[string]bool{}
			for _, n := range tt.want {
				want[n] = true
				if !strings.Contains(body, n) {
					t.Errorf("answer %s does not name woken Promotion %s", body, n)
				}
			}
			for _, n := range all {
				if changed := promotionRefresh(t, p, n) != before[n]; changed != want[n] {
					t.Errorf("Promotion %s woken = %v, want %v", n, changed, want[n])
				}
			}
		})
	}

	// A finished Promotion is not touched, even when it recorded the same pull request.
	done := &haulv1.Promotion{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: p, Name: "gh-other"}, done); err != nil {
		t.Fatal(err)
	}
	done.Status.Phase = haulv1.PromotionSucceeded
	if err := env.Client.Status().Update(ctx, done); err != nil {
		t.Fatal(err)
	}
	other := []byte(`{"action":"closed","pull_request":{"html_url":"https://github.com/acme/app/pull/8"}}`)
	before := promotionRefresh(t, p, "gh-other")
	if code, body := post(t, srv.URL+"/webhooks/"+p+"/gh", other, map[string]string{"X-Hub-Signature-256": sign(other), "X-GitHub-Event": "pull_request"}); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if promotionRefresh(t, p, "gh-other") != before {
		t.Error("a Succeeded Promotion was woken")
	}
}

func signWith(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
