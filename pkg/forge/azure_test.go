package forge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAzure replays the Azure DevOps REST API shapes the Go client calls
// (learn.microsoft.com/rest/api/azure/devops/git/pull-requests, api-version 7.1) for
// one repository, app, in project "Platform Team" of organization acme: the OPTIONS
// /_apis route discovery, repositories/{id}, and pullRequests list, create, get and
// update. Requests to dev.azure.com reach it through rewriteTransport.
type fakeAzure struct {
	mu      sync.Mutex
	token   string
	prs     map[int]map[string]any
	next    int
	creates []map[string]any
	// createPaths are the paths the creates were sent to.
	createPaths []string
	lists       []url.Values
	patches     []map[string]any
	// refuseStatus, when set, is how PATCH answers, with refuseBody.
	refuseStatus int
	refuseBody   map[string]any
	// badAuth lists Authorization headers that were not the PAT as basic auth.
	badAuth []string
	// hosts are the Host headers received.
	hosts map[string]bool
	// completing counts GETs still to answer "active" after a completion.
	completing map[int]int
}

const (
	fakeAzureRepoID = "5f0c9a52-2f1e-4a53-a0b1-3b2d8f1a7c11"
	fakeAzureWeb    = "https://dev.azure.com/acme/Platform%20Team/_git/app"
	fakeAzurePrefix = "/acme/Platform Team/_apis/git/repositories/"
)

func newFakeAzure(t *testing.T) (*fakeAzure, *http.Client) {
	f := &fakeAzure{token: "azpat-fake-0123456789", prs: map[int]map[string]any{}, next: 12,
		hosts: map[string]bool{}, completing: map[int]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, &http.Client{Transport: rewriteTransport{target: srv.URL}, Timeout: 10 * time.Second}
}

// rewriteTransport sends every request to target, keeping its Host header, so a
// provider built for a real forge's URL talks to a local fake.
type rewriteTransport struct{ target string }

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u, _ := url.Parse(rt.target)
	c := r.Clone(r.Context())
	c.URL.Scheme, c.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(c)
}

func (f *fakeAzure) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8; api-version=7.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// azureError is Azure's error body.
func azureError(message, typeKey string) map[string]any {
	return map[string]any{"$id": "1", "innerException": nil, "message": message,
		"typeName": "Microsoft.TeamFoundation." + typeKey + ", Microsoft.TeamFoundation", "typeKey": typeKey, "errorCode": 0, "eventId": 3000}
}

func (f *fakeAzure) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[r.Host] = true
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+f.token)); r.Header.Get("Authorization") != want {
		f.badAuth = append(f.badAuth, r.Header.Get("Authorization"))
		// Azure answers a refused credential with a sign-in page, not JSON.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, "<html><head><title>Azure DevOps Services | Sign In</title></head></html>")
		return
	}
	if r.Method == http.MethodOptions && r.URL.Path == "/acme/_apis" {
		f.write(w, http.StatusOK, map[string]any{"count": 2, "value": []map[string]any{
			{"id": "9946fd70-0d40-406e-b686-b4744cbbcc37", "area": "git", "resourceName": "pullRequests",
				"routeTemplate":   "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}",
				"resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0"},
			{"id": "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "area": "git", "resourceName": "repositories",
				"routeTemplate":   "{project}/_apis/{area}/{resource}/{repositoryId}",
				"resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0"},
		}})
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "api-version=7.1") {
		f.write(w, http.StatusBadRequest, azureError("No api-version was supplied", "VssVersionNotSpecifiedException"))
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, fakeAzurePrefix)
	if !ok {
		f.write(w, http.StatusNotFound, azureError("TF200016: The following project does not exist: "+r.URL.Path, "ProjectDoesNotExistWithNameException"))
		return
	}
	var repo, rest string
	repo, rest, _ = strings.Cut(path, "/")
	if repo != "app" && repo != fakeAzureRepoID {
		f.write(w, http.StatusNotFound, azureError("TF401019: The Git repository with name or identifier "+repo+" does not exist", "GitRepositoryNotFoundException"))
		return
	}
	var n int
	switch {
	case rest == "" && r.Method == http.MethodGet:
		f.write(w, http.StatusOK, map[string]any{"id": fakeAzureRepoID, "name": "app", "webUrl": fakeAzureWeb,
			"project": map[string]any{"name": "Platform Team"}})
	case rest == "pullRequests" && r.Method == http.MethodGet:
		q := r.URL.Query()
		f.lists = append(f.lists, q)
		out := []map[string]any{}
		for _, pr := range f.prs {
			if pr["status"] == q.Get("searchCriteria.status") && pr["sourceRefName"] == q.Get("searchCriteria.sourceRefName") &&
				pr["targetRefName"] == q.Get("searchCriteria.targetRefName") {
				out = append(out, pr)
			}
		}
		f.write(w, http.StatusOK, map[string]any{"count": len(out), "value": out})
	case rest == "pullRequests" && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.creates = append(f.creates, body)
		f.createPaths = append(f.createPaths, r.URL.Path)
		pr := map[string]any{
			"pullRequestId": f.next, "status": "active", "title": body["title"], "description": body["description"],
			"sourceRefName": body["sourceRefName"], "targetRefName": body["targetRefName"], "labels": body["labels"],
			"mergeStatus": "queued", "isDraft": false,
			"lastMergeSourceCommit": map[string]any{"commitId": fmt.Sprintf("src%d", f.next)},
			"repository":            map[string]any{"id": fakeAzureRepoID, "name": "app", "webUrl": fakeAzureWeb},
			"url":                   fmt.Sprintf("https://dev.azure.com/acme/_apis/git/repositories/%s/pullRequests/%d", fakeAzureRepoID, f.next),
		}
		f.prs[f.next] = pr
		f.next++
		f.write(w, http.StatusCreated, pr)
	case sscan(rest, "pullRequests/%d", &n) && r.Method == http.MethodGet:
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, azureError("TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException"))
			return
		}
		switch {
		case pr["mergeStatus"] == "queued" && pr["status"] == "active" && f.completing[n] == 0:
			// Azure finishes checking the merge between two reads.
			pr["mergeStatus"] = "succeeded"
		case f.completing[n] > 0:
			if f.completing[n]--; f.completing[n] == 0 {
				pr["status"], pr["mergeStatus"] = "completed", "succeeded"
				pr["lastMergeCommit"] = map[string]any{"commitId": fmt.Sprintf("merge%d", n)}
				pr["closedBy"] = map[string]any{"displayName": "Haul Bot", "uniqueName": "haul@acme.example"}
			}
		}
		f.write(w, http.StatusOK, pr)
	case sscan(rest, "pullRequests/%d", &n) && r.Method == http.MethodPatch:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.patches = append(f.patches, body)
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, azureError("TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException"))
			return
		}
		if f.refuseStatus != 0 {
			f.write(w, f.refuseStatus, f.refuseBody)
			return
		}
		if body["status"] == "completed" {
			// The completion is asynchronous: two more reads see it active.
			pr["completionOptions"] = body["completionOptions"]
			pr["mergeStatus"] = "queued"
			f.completing[n] = 2
		}
		f.write(w, http.StatusOK, pr)
	default:
		f.write(w, http.StatusNotFound, azureError("the fake does not serve "+r.Method+" "+r.URL.Path, "NotFound"))
	}
}

func newFakeAzureProvider(t *testing.T, f *fakeAzure, hc *http.Client, token string) Provider {
	t.Helper()
	p, err := New(Options{RepoURL: "https://acme@dev.azure.com/acme/Platform%20Team/_git/app", Password: token, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	p.(*azureProvider).settleEvery = time.Millisecond
	return p
}

func TestAzureDevOpsPullRequestsAgainstFakeServer(t *testing.T) {
	ctx := context.Background()
	t.Run("opens once, reuses the open one on replay, completes with each strategy", func(t *testing.T) {
		f, hc := newFakeAzure(t)
		p := newFakeAzureProvider(t, f, hc, f.token)
		// A fork's active pull request between refs of the same names is not ours.
		f.prs[3] = map[string]any{"pullRequestId": 3, "status": "active", "sourceRefName": "refs/heads/haul/prod",
			"targetRefName": "refs/heads/main", "forkSource": map[string]any{"name": "refs/heads/haul/prod"}}
		opts := OpenOptions{SourceBranch: "haul/prod", TargetBranch: "main", Title: "Promote", Description: "why", Labels: []string{"promotion"}}
		pr, created, err := p.OpenPR(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !created || pr.Number != 12 || pr.State != StateOpen || pr.URL != fakeAzureWeb+"/pullrequest/12" ||
			pr.SourceBranch != "haul/prod" || pr.TargetBranch != "main" || pr.HeadSHA != "src12" {
			t.Fatalf("opened %+v (created %v), want new open #12 haul/prod → main at src12 with its web URL", pr, created)
		}
		if len(f.creates) != 1 {
			t.Fatalf("%d creates, want 1", len(f.creates))
		}
		body := f.creates[0]
		if body["sourceRefName"] != "refs/heads/haul/prod" || body["targetRefName"] != "refs/heads/main" ||
			body["title"] != "Promote" || body["description"] != "why" || fmt.Sprint(body["labels"]) != "[map[name:promotion]]" {
			t.Errorf("create body = %v, want full ref names, title, description and the label", body)
		}
		if f.createPaths[0] != fakeAzurePrefix+fakeAzureRepoID+"/pullRequests" {
			t.Errorf("created at %s, want the repository's id in the path", f.createPaths[0])
		}
		again, created, err := p.OpenPR(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if created || again.Number != 12 || len(f.creates) != 1 {
			t.Fatalf("replayed open: #%d created=%v after %d creates; want #12 found, one create", again.Number, created, len(f.creates))
		}
		q := f.lists[len(f.lists)-1]
		if q.Get("searchCriteria.status") != "active" || q.Get("searchCriteria.sourceRefName") != "refs/heads/haul/prod" ||
			q.Get("searchCriteria.targetRefName") != "refs/heads/main" {
			t.Errorf("search = %v, want active pull requests from refs/heads/haul/prod to refs/heads/main", q)
		}

		merged, err := p.MergePR(ctx, 12, MergeOptions{Method: "squash"})
		if err != nil {
			t.Fatal(err)
		}
		if merged.State != StateMerged || merged.MergeCommitSHA != "merge12" || merged.MergedBy != "haul@acme.example" {
			t.Errorf("merged = %+v, want merged as merge12 by haul@acme.example", merged)
		}
		if len(f.patches) != 1 {
			t.Fatalf("%d updates, want 1", len(f.patches))
		}
		patch := f.patches[0]
		if patch["status"] != "completed" || fmt.Sprint(patch["lastMergeSourceCommit"]) != "map[commitId:src12]" ||
			fmt.Sprint(patch["completionOptions"]) != "map[mergeStrategy:squash]" {
			t.Errorf("update body = %v, want status completed at src12 with mergeStrategy squash", patch)
		}
		if _, err := p.MergePR(ctx, 12, MergeOptions{Method: "squash"}); err != nil || len(f.patches) != 1 {
			t.Errorf("re-merge: err %v, %d updates; want no error and no new update", err, len(f.patches))
		}

		for i, method := range []string{"noFastForward", "rebase", "rebaseMerge", ""} {
			src := fmt.Sprintf("haul/s%d", i)
			pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: src, TargetBranch: "main", Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.MergePR(ctx, pr.Number, MergeOptions{Method: method}); err != nil {
				t.Fatalf("merge with %q: %v", method, err)
			}
			got := f.patches[len(f.patches)-1]["completionOptions"]
			want := "map[mergeStrategy:" + method + "]"
			if method == "" {
				want = "<nil>"
			}
			if fmt.Sprint(got) != want {
				t.Errorf("mergeMethod %q sent completionOptions %v, want %s", method, got, want)
			}
		}
		if _, err := p.MergePR(ctx, 12, MergeOptions{Method: "merge"}); err == nil ||
			!strings.Contains(err.Error(), `mergeMethod "merge"`) || !strings.Contains(err.Error(), "noFastForward, rebase, rebaseMerge, squash") {
			t.Errorf("unknown method: err = %v, want one naming it and the allowed values", err)
		}
		if len(f.badAuth) != 0 || len(f.hosts) != 1 || !f.hosts["dev.azure.com"] {
			t.Errorf("requests: bad auth %q, hosts %v; want the PAT as basic auth, all to dev.azure.com", f.badAuth, f.hosts)
		}
	})

	t.Run("a conflict is refused with Azure's reason before asking to complete", func(t *testing.T) {
		f, hc := newFakeAzure(t)
		p := newFakeAzureProvider(t, f, hc, f.token)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		f.prs[int(pr.Number)]["mergeStatus"] = "conflicts"
		f.prs[int(pr.Number)]["mergeFailureMessage"] = "Merge conflicts in values.yaml"
		_, err = p.MergePR(ctx, pr.Number, MergeOptions{})
		var nm *NotMergeableError
		if !errors.As(err, &nm) || !strings.Contains(nm.Reason, "conflicts") || !strings.Contains(nm.Reason, "Merge conflicts in values.yaml") {
			t.Fatalf("err = %v, want NotMergeableError with Azure's merge failure message", err)
		}
		if len(f.patches) != 0 {
			t.Errorf("asked Azure to complete %d times, want 0", len(f.patches))
		}
		f.prs[int(pr.Number)]["mergeStatus"], f.prs[int(pr.Number)]["isDraft"] = "succeeded", true
		if _, err := p.MergePR(ctx, pr.Number, MergeOptions{}); !errors.As(err, &nm) || !strings.Contains(nm.Reason, "draft") {
			t.Fatalf("draft: err = %v, want NotMergeableError naming the draft", err)
		}
	})

	t.Run("a refused completion carries Azure's message", func(t *testing.T) {
		for name, tc := range map[string]struct {
			status  int
			typeKey string
		}{
			"409":               {http.StatusConflict, "GitPullRequestStaleException"},
			"403 from a policy": {http.StatusForbidden, "PolicyViolationException"},
		} {
			t.Run(name, func(t *testing.T) {
				f, hc := newFakeAzure(t)
				p := newFakeAzureProvider(t, f, hc, f.token)
				pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
				if err != nil {
					t.Fatal(err)
				}
				f.refuseStatus, f.refuseBody = tc.status, azureError("The policy 'Minimum number of reviewers' is not satisfied.", tc.typeKey)
				_, err = p.MergePR(ctx, pr.Number, MergeOptions{})
				var nm *NotMergeableError
				if !errors.As(err, &nm) || !strings.Contains(nm.Reason, "Minimum number of reviewers") {
					t.Fatalf("err = %v, want NotMergeableError with Azure's message", err)
				}
			})
		}
		f, hc := newFakeAzure(t)
		p := newFakeAzureProvider(t, f, hc, f.token)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		f.refuseStatus, f.refuseBody = http.StatusForbidden, azureError("TF401027: You need the Git 'PullRequestContribute' permission to perform this action.", "GitNeedsPermissionException")
		if _, err := p.MergePR(ctx, pr.Number, MergeOptions{}); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "PullRequestContribute") {
			t.Fatalf("403 for a permission: err = %v, want ErrUnauthorized with Azure's message", err)
		}
	})

	t.Run("abandoned is closed, naming who abandoned it", func(t *testing.T) {
		f, hc := newFakeAzure(t)
		p := newFakeAzureProvider(t, f, hc, f.token)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		f.prs[int(pr.Number)]["status"] = "abandoned"
		f.prs[int(pr.Number)]["closedBy"] = map[string]any{"displayName": "Mona", "uniqueName": "mona@acme.example"}
		got, err := p.GetPR(ctx, pr.Number)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateClosed || got.ClosedBy != "mona@acme.example" {
			t.Errorf("got state %q closed by %q, want closed by mona@acme.example", got.State, got.ClosedBy)
		}
		if _, err := p.MergePR(ctx, pr.Number, MergeOptions{}); !errors.Is(err, ErrClosed) {
			t.Errorf("merging an abandoned pull request: err = %v, want ErrClosed", err)
		}
		if len(f.patches) != 0 {
			t.Errorf("asked Azure to complete an abandoned pull request")
		}
	})

	t.Run("401 and 404 map to the package's errors without the token", func(t *testing.T) {
		f, hc := newFakeAzure(t)
		bad := newFakeAzureProvider(t, f, hc, "azpat-wrong-9876543210")
		_, err := bad.GetPR(ctx, 12)
		if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "azpat-wrong-9876543210") {
			t.Errorf("401: err = %v, want ErrUnauthorized without the token", err)
		}
		if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(":azpat-wrong-9876543210")); len(f.badAuth) == 0 || f.badAuth[0] != want {
			t.Errorf("auth sent = %q, want the PAT as the basic-auth password", f.badAuth)
		}
		good := newFakeAzureProvider(t, f, hc, f.token)
		if _, err := good.GetPR(ctx, 99); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "TF401180") ||
			!strings.Contains(err.Error(), "pull request 99 of Platform Team/app") {
			t.Errorf("404: err = %v, want ErrNotFound with Azure's message naming pull request 99 of Platform Team/app", err)
		}
		if _, err := New(Options{RepoURL: "https://dev.azure.com/acme/Platform/_git/app"}); !errors.Is(err, ErrUnauthorized) ||
			!strings.Contains(err.Error(), "personal access token") {
			t.Errorf("no credential: err = %v, want ErrUnauthorized asking for a personal access token", err)
		}
	})
}

func TestAzureDevOpsRepoURLForms(t *testing.T) {
	for raw, want := range map[string]azureRepo{
		"https://dev.azure.com/acme/Platform/_git/app":                       {"https://dev.azure.com/acme", "Platform", "app"},
		"https://acme@dev.azure.com/acme/Platform%20Team/_git/app.git":       {"https://dev.azure.com/acme", "Platform Team", "app"},
		"https://dev.azure.com/acme/_git/app":                                {"https://dev.azure.com/acme", "app", "app"},
		"https://acme.visualstudio.com/Platform/_git/app":                    {"https://dev.azure.com/acme", "Platform", "app"},
		"https://acme.visualstudio.com/DefaultCollection/Platform/_git/app/": {"https://dev.azure.com/acme", "Platform", "app"},
		"https://tfs.acme.internal/tfs/DefaultCollection/Platform/_git/app":  {"https://tfs.acme.internal/tfs/DefaultCollection", "Platform", "app"},
		"http://127.0.0.1:8080/DefaultCollection/Platform/_git/app":          {"http://127.0.0.1:8080/DefaultCollection", "Platform", "app"},
	} {
		got, err := parseAzureRepoURL(raw)
		if err != nil || got != want {
			t.Errorf("parseAzureRepoURL(%s) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"https://dev.azure.com/acme/Platform/app",
		"https://dev.azure.com/acme/Platform/_git/app/pullrequest/3",
		"https://dev.azure.com/acme/a/b/_git/app",
		"https://tfs.acme.internal/Platform/_git/app",
	} {
		if _, err := parseAzureRepoURL(raw); err == nil || !strings.Contains(err.Error(), "repoURL") || !strings.Contains(err.Error(), "_git") {
			t.Errorf("parseAzureRepoURL(%s): err = %v, want one naming repoURL and the _git form", raw, err)
		}
	}
}
