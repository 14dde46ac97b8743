package forge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeGitLab replays GitLab's merge request API shapes (docs.gitlab.com/api/merge_requests)
// for one project, platform/team/app, nested in two groups.
type fakeGitLab struct {
	mu      sync.Mutex
	mr      map[string]any
	creates int
	accept  map[string]any
	// acceptStatus, when set, is what PUT .../merge answers with.
	acceptStatus int
}

func newFakeGitLabProvider(t *testing.T) (*fakeGitLab, Provider) {
	f := &fakeGitLab{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		write := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		if r.Header.Get("Private-Token") != "glpat-fake" {
			write(http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
			return
		}
		const prefix = "/api/v4/projects/platform%2Fteam%2Fapp/merge_requests"
		p := r.URL.EscapedPath()
		switch {
		case p == prefix && r.Method == http.MethodGet:
			out := []any{}
			if f.mr != nil && f.mr["state"] == r.URL.Query().Get("state") && f.mr["source_branch"] == r.URL.Query().Get("source_branch") {
				out = append(out, f.mr)
			}
			write(http.StatusOK, out)
		case p == prefix && r.Method == http.MethodPost:
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			f.creates++
			f.mr = map[string]any{"iid": 4, "state": "opened", "web_url": "https://gitlab.acme.internal/platform/team/app/-/merge_requests/4",
				"source_branch": body["source_branch"], "target_branch": body["target_branch"], "sha": "head4",
				"detailed_merge_status": "mergeable", "labels": labelList(body["labels"])}
			write(http.StatusCreated, f.mr)
		case p == prefix+"/4" && r.Method == http.MethodGet:
			write(http.StatusOK, f.mr)
		case p == prefix+"/4/merge" && r.Method == http.MethodPut:
			_ = json.NewDecoder(r.Body).Decode(&f.accept)
			if f.acceptStatus != 0 {
				write(f.acceptStatus, map[string]any{"message": "405 Method Not Allowed"})
				return
			}
			f.mr["state"], f.mr["squash_commit_sha"], f.mr["merge_user"] = "merged", "squash4", map[string]any{"username": "tanuki"}
			write(http.StatusOK, f.mr)
		default:
			write(http.StatusNotFound, map[string]any{"message": "404 Not Found"})
		}
	}))
	t.Cleanup(srv.Close)
	p, err := New(Options{Provider: ProviderGitLab, RepoURL: srv.URL + "/platform/team/app.git", Password: "glpat-fake"})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestGitLabProviderFakeOpensOnceInANestedGroupAndSquashes(t *testing.T) {
	f, p := newFakeGitLabProvider(t)
	ctx := context.Background()
	opts := OpenOptions{SourceBranch: "haul/prod", TargetBranch: "main", Title: "Promote", Labels: []string{"promotion"}}
	pr, created, err := p.OpenPR(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !created || pr.Number != 4 || !strings.HasSuffix(pr.URL, "/merge_requests/4") {
		t.Fatalf("opened %+v created=%v, want new !4", pr, created)
	}
	if l, _ := f.mr["labels"].([]string); len(l) != 1 || l[0] != "promotion" {
		t.Errorf("labels sent = %v, want [promotion]", f.mr["labels"])
	}
	if _, created, err = p.OpenPR(ctx, opts); err != nil || created || f.creates != 1 {
		t.Fatalf("second open: created=%v err=%v creates=%d; want the existing one", created, err, f.creates)
	}
	merged, err := p.MergePR(ctx, 4, MergeOptions{Method: "squash"})
	if err != nil {
		t.Fatal(err)
	}
	if merged.State != StateMerged || merged.MergeCommitSHA != "squash4" || merged.MergedBy != "tanuki" {
		t.Errorf("merged = %+v, want merged as squash4 by tanuki", merged)
	}
	if f.accept["squash"] != true || f.accept["sha"] != "head4" {
		t.Errorf("accept request = %v, want squash and the head sha", f.accept)
	}
}

func TestGitLabProviderFakeRefusesWhatGitLabRefuses(t *testing.T) {
	ctx := context.Background()
	f, p := newFakeGitLabProvider(t)
	if _, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: "a", TargetBranch: "main", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	f.mr["has_conflicts"] = true
	var nm *NotMergeableError
	if _, err := p.MergePR(ctx, 4, MergeOptions{}); !errors.As(err, &nm) || !strings.Contains(nm.Reason, "conflicts") {
		t.Fatalf("err = %v, want NotMergeableError about conflicts", err)
	}
	f.mr["has_conflicts"] = false
	f.acceptStatus = http.StatusMethodNotAllowed
	if _, err := p.MergePR(ctx, 4, MergeOptions{}); !errors.As(err, &nm) || !strings.Contains(nm.Reason, "405 Method Not Allowed") {
		t.Fatalf("err = %v, want NotMergeableError with GitLab's message", err)
	}
	if _, err := p.GetPR(ctx, 5); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "!5 of platform/team/app") {
		t.Errorf("404: err = %v, want ErrNotFound naming !5 of platform/team/app", err)
	}
}

// labelList is the labels a create request carried (GitLab takes a comma-separated
// string) as the array GitLab answers with.
func labelList(v any) []string {
	s, _ := v.(string)
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}
