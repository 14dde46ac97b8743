package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub replays GitHub's REST API shapes (docs.github.com/rest/pulls) for one
// repository, acme/app, under GitHub Enterprise's /api/v3 prefix.
type fakeGitHub struct {
	mu      sync.Mutex
	token   string
	prs     map[int]map[string]any
	next    int
	creates int
	labels  map[int][]string
	merges  []map[string]any
	// mergeStatus, when set, is the status PUT .../merge answers with, and
	// mergeMessage its message.
	mergeStatus  int
	mergeMessage string
	closedBy     string
}

func newFakeGitHub(t *testing.T) (*fakeGitHub, string) {
	f := &fakeGitHub{token: "ghp_faketoken123", prs: map[int]map[string]any{}, next: 7, labels: map[int][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv.URL + "/acme/app.git"
}

func (f *fakeGitHub) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.write(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	const prefix = "/api/v3/repos/acme/app/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		f.write(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	var n int
	switch {
	case path == "pulls" && r.Method == http.MethodGet:
		q := r.URL.Query()
		out := []map[string]any{}
		for _, pr := range f.prs {
			head := "acme:" + pr["head"].(map[string]any)["ref"].(string)
			if pr["state"] == q.Get("state") && head == q.Get("head") && pr["base"].(map[string]any)["ref"] == q.Get("base") {
				out = append(out, pr)
			}
		}
		f.write(w, http.StatusOK, out)
	case path == "pulls" && r.Method == http.MethodPost:
		var body struct{ Title, Head, Base, Body string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		for _, pr := range f.prs {
			if pr["state"] == "open" && pr["head"].(map[string]any)["ref"] == body.Head {
				f.write(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
					"errors": []map[string]any{{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:" + body.Head + "."}}})
				return
			}
		}
		f.creates++
		pr := map[string]any{
			"number": f.next, "state": "open", "title": body.Title, "body": body.Body,
			"html_url":  fmt.Sprintf("https://github.acme.internal/acme/app/pull/%d", f.next),
			"head":      map[string]any{"ref": body.Head, "sha": "headsha1"},
			"base":      map[string]any{"ref": body.Base, "sha": "basesha1"},
			"merged":    false,
			"mergeable": nil, "mergeable_state": "unknown",
		}
		f.prs[f.next] = pr
		f.next++
		f.write(w, http.StatusCreated, pr)
	case sscan(path, "issues/%d/labels", &n) && r.Method == http.MethodPost:
		var body struct{ Labels []string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			_ = json.Unmarshal(b, &body.Labels)
		}
		f.labels[n] = append(f.labels[n], body.Labels...)
		f.write(w, http.StatusOK, []map[string]any{})
	case sscan(path, "issues/%d", &n) && r.Method == http.MethodGet:
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		f.write(w, http.StatusOK, map[string]any{"number": n, "state": pr["state"], "closed_by": map[string]any{"login": f.closedBy}})
	case sscan(path, "pulls/%d/merge", &n) && r.Method == http.MethodPut:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.merges = append(f.merges, body)
		if f.mergeStatus != 0 {
			f.write(w, f.mergeStatus, map[string]any{"message": f.mergeMessage})
			return
		}
		pr := f.prs[n]
		pr["state"], pr["merged"], pr["merge_commit_sha"] = "closed", true, "mergesha9"
		pr["merged_by"] = map[string]any{"login": "octocat"}
		f.write(w, http.StatusOK, map[string]any{"sha": "mergesha9", "merged": true, "message": "Pull Request successfully merged"})
	case sscan(path, "pulls/%d", &n) && r.Method == http.MethodGet:
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		f.write(w, http.StatusOK, pr)
	default:
		f.write(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// sscan matches path against a pattern with one %d exactly.
func sscan(path, pattern string, n *int) bool {
	var rest string
	c, _ := fmt.Sscanf(path+"|", pattern+"%s", n, &rest)
	return c == 2 && rest == "|"
}

func newFakeGitHubProvider(t *testing.T) (*fakeGitHub, Provider) {
	f, url := newFakeGitHub(t)
	p, err := New(Options{Provider: ProviderGitHub, RepoURL: url, Username: "haul", Password: f.token})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestGitHubProviderFakeOpensOnceAndMergesWithTheMethod(t *testing.T) {
	f, p := newFakeGitHubProvider(t)
	ctx := context.Background()
	opts := OpenOptions{SourceBranch: "haul/prod", TargetBranch: "main", Title: "Promote", Description: "why", Labels: []string{"promotion"}}
	pr, created, err := p.OpenPR(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !created || pr.Number != 7 || pr.State != StateOpen || pr.URL != "https://github.acme.internal/acme/app/pull/7" {
		t.Fatalf("opened %+v (created %v), want new open #7 with its html_url", pr, created)
	}
	if got := f.labels[7]; len(got) != 1 || got[0] != "promotion" {
		t.Errorf("labels sent = %v, want [promotion]", got)
	}
	again, created, err := p.OpenPR(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if created || again.Number != 7 || f.creates != 1 {
		t.Fatalf("second open: #%d created=%v after %d creates; want #7 found, one create", again.Number, created, f.creates)
	}

	merged, err := p.MergePR(ctx, 7, MergeOptions{Method: "squash"})
	if err != nil {
		t.Fatal(err)
	}
	if merged.State != StateMerged || merged.MergeCommitSHA != "mergesha9" || merged.MergedBy != "octocat" {
		t.Errorf("merged = %+v, want merged as mergesha9 by octocat", merged)
	}
	if len(f.merges) != 1 || f.merges[0]["merge_method"] != "squash" || f.merges[0]["sha"] != "headsha1" {
		t.Errorf("merge requests = %v, want one with merge_method squash and the head sha", f.merges)
	}
	// Merging a merged pull request is a no-op that returns it.
	if _, err := p.MergePR(ctx, 7, MergeOptions{}); err != nil || len(f.merges) != 1 {
		t.Errorf("re-merge: err %v, %d merge requests; want no error and no new request", err, len(f.merges))
	}
}

func TestGitHubProviderFakeRefusesToMergeWithGitHubsReason(t *testing.T) {
	ctx := context.Background()
	t.Run("mergeable_state dirty is refused before asking to merge", func(t *testing.T) {
		f, p := newFakeGitHubProvider(t)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		f.prs[int(pr.Number)]["mergeable"], f.prs[int(pr.Number)]["mergeable_state"] = false, "dirty"
		_, err = p.MergePR(ctx, pr.Number, MergeOptions{})
		var nm *NotMergeableError
		if !errors.As(err, &nm) || !strings.Contains(nm.Reason, "conflicts") {
			t.Fatalf("err = %v, want NotMergeableError about conflicts", err)
		}
		if len(f.merges) != 0 {
			t.Errorf("asked GitHub to merge %d times, want 0", len(f.merges))
		}
	})
	t.Run("405 from the merge carries GitHub's message", func(t *testing.T) {
		f, p := newFakeGitHubProvider(t)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		f.mergeStatus, f.mergeMessage = http.StatusMethodNotAllowed, "Required status check \"ci\" is expected."
		_, err = p.MergePR(ctx, pr.Number, MergeOptions{Method: "merge"})
		var nm *NotMergeableError
		if !errors.As(err, &nm) || !strings.Contains(nm.Error(), `Required status check "ci" is expected.`) {
			t.Fatalf("err = %v, want NotMergeableError with GitHub's message", err)
		}
	})
	t.Run("an unknown merge method is refused naming it", func(t *testing.T) {
		_, p := newFakeGitHubProvider(t)
		pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.MergePR(ctx, pr.Number, MergeOptions{Method: "octopus"}); err == nil || !strings.Contains(err.Error(), `mergeMethod "octopus"`) {
			t.Fatalf("err = %v, want one naming mergeMethod \"octopus\"", err)
		}
	})
}

func TestGitHubProviderFakeReportsWhoClosedAPullRequest(t *testing.T) {
	f, p := newFakeGitHubProvider(t)
	ctx := context.Background()
	pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	f.prs[int(pr.Number)]["state"], f.closedBy = "closed", "mona"
	got, err := p.GetPR(ctx, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateClosed || got.ClosedBy != "mona" {
		t.Errorf("got state %q closed by %q, want closed by mona", got.State, got.ClosedBy)
	}
	if _, err := p.MergePR(ctx, pr.Number, MergeOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("merging a closed pull request: err = %v, want ErrClosed", err)
	}
}

func TestGitHubProviderFakeMapsErrorsWithoutTheToken(t *testing.T) {
	f, url := newFakeGitHub(t)
	ctx := context.Background()
	bad, err := New(Options{Provider: ProviderGitHub, RepoURL: url, Password: "ghp_wrongtoken456"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetPR(ctx, 1)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "Bad credentials") || strings.Contains(err.Error(), "ghp_wrongtoken456") {
		t.Errorf("401: err = %v, want ErrUnauthorized with GitHub's message and no token", err)
	}
	good, err := New(Options{Provider: ProviderGitHub, RepoURL: url, Password: f.token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.GetPR(ctx, 99); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "pull request 99 of acme/app") {
		t.Errorf("404: err = %v, want ErrNotFound naming pull request 99 of acme/app", err)
	}
	// A pull request opened by someone else for the same head, outside the list the
	// provider saw, makes GitHub answer 422; its message reaches the user.
	f.prs[3] = map[string]any{"number": 3, "state": "open", "head": map[string]any{"ref": "a"}, "base": map[string]any{"ref": "release"}}
	_, _, err = good.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"})
	if err == nil || !strings.Contains(err.Error(), "A pull request already exists for acme:a.") || !strings.Contains(err.Error(), "HTTP 422") {
		t.Errorf("422: err = %v, want GitHub's validation message and the status", err)
	}
}
