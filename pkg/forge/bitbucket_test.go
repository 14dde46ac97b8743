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

// fakeBitbucket replays Bitbucket Cloud's REST 2.0 shapes
// (developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests) for one
// repository, acme/app: pullrequests list, create, get and merge, and commit/{hash}.
// Requests to api.bitbucket.org reach it through rewriteTransport.
type fakeBitbucket struct {
	mu sync.Mutex
	// auth is the one Authorization header accepted.
	auth    string
	prs     map[int]map[string]any
	next    int
	creates []map[string]any
	lists   []url.Values
	merges  []map[string]any
	// refuseStatus, when set, is how the merge answers, with refuseMessage.
	refuseStatus  int
	refuseMessage string
	// async makes the merge answer 202 with no body, as a merge Bitbucket finishes
	// in the background does.
	async bool
	// auths and hosts are the Authorization and Host headers received.
	auths []string
	hosts map[string]bool
}

const fakeBitbucketMerge = "8d3f1a2b4c5e6f708192a3b4c5d6e7f8091a2b3c"

func newFakeBitbucket(t *testing.T, auth string) (*fakeBitbucket, *http.Client) {
	f := &fakeBitbucket{auth: auth, prs: map[int]map[string]any{}, next: 5, hosts: map[string]bool{}}
	// Open pull requests a provider must not take for its own: another branch,
	// and the same branch names from a fork.
	f.prs[3] = f.pr(3, "feature", "main", "acme/app")
	f.prs[4] = f.pr(4, "haul/prod", "main", "mona/app")
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, &http.Client{Transport: rewriteTransport{target: srv.URL}, Timeout: 10 * time.Second}
}

func (f *fakeBitbucket) pr(id int, source, target, fullName string) map[string]any {
	return map[string]any{
		"type": "pullrequest", "id": id, "title": fmt.Sprintf("PR %d", id), "state": "OPEN", "draft": false,
		"source": map[string]any{"branch": map[string]any{"name": source}, "commit": map[string]any{"hash": fmt.Sprintf("a1b2c3d4e5f%d", id)},
			"repository": map[string]any{"full_name": fullName}},
		"destination": map[string]any{"branch": map[string]any{"name": target}, "commit": map[string]any{"hash": "0f0e0d0c0b0a"},
			"repository": map[string]any{"full_name": "acme/app"}},
		"merge_commit": nil, "closed_by": nil,
		"links": map[string]any{"html": map[string]any{"href": fmt.Sprintf("https://bitbucket.org/acme/app/pull-requests/%d", id)}},
	}
}

func (f *fakeBitbucket) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func bbError(message string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"message": message}}
}

func (f *fakeBitbucket) merged(pr map[string]any) {
	pr["state"] = "MERGED"
	pr["merge_commit"] = map[string]any{"hash": fakeBitbucketMerge[:12]}
	pr["closed_by"] = map[string]any{"display_name": "Haul Bot", "nickname": "haul-bot"}
}

func (f *fakeBitbucket) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[r.Host] = true
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != f.auth {
		f.write(w, http.StatusUnauthorized, bbError("Unauthorized"))
		return
	}
	const prefix = "/2.0/repositories/acme/app/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		f.write(w, http.StatusNotFound, bbError("Repository not found"))
		return
	}
	var n int
	var hash string
	switch {
	case rest == "pullrequests/" && r.Method == http.MethodGet:
		q := r.URL.Query()
		f.lists = append(f.lists, q)
		values := []map[string]any{}
		for _, pr := range f.prs {
			if pr["state"] == q.Get("state") {
				values = append(values, pr)
			}
		}
		f.write(w, http.StatusOK, map[string]any{"pagelen": 10, "size": len(values), "page": 1, "values": values})
	case rest == "pullrequests/" && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.creates = append(f.creates, body)
		source := body["source"].(map[string]any)["branch"].(map[string]any)["name"].(string)
		target := body["destination"].(map[string]any)["branch"].(map[string]any)["name"].(string)
		pr := f.pr(f.next, source, target, "acme/app")
		pr["title"], pr["description"] = body["title"], body["description"]
		f.prs[f.next] = pr
		f.next++
		f.write(w, http.StatusCreated, pr)
	case sscan(rest, "pullrequests/%d/merge", &n) && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.merges = append(f.merges, body)
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, bbError("Pull request not found"))
			return
		}
		if f.refuseStatus != 0 {
			f.write(w, f.refuseStatus, bbError(f.refuseMessage))
			return
		}
		f.merged(pr)
		if f.async {
			w.Header().Set("Location", fmt.Sprintf("https://api.bitbucket.org%spullrequests/%d/merge/task-status/1", prefix, n))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		f.write(w, http.StatusOK, pr)
	case sscan(rest, "pullrequests/%d", &n) && r.Method == http.MethodGet:
		pr, ok := f.prs[n]
		if !ok {
			f.write(w, http.StatusNotFound, bbError("Pull request not found"))
			return
		}
		f.write(w, http.StatusOK, pr)
	case strings.HasPrefix(rest, "commit/") && r.Method == http.MethodGet:
		hash = strings.TrimPrefix(rest, "commit/")
		if !strings.HasPrefix(fakeBitbucketMerge, hash) {
			f.write(w, http.StatusNotFound, bbError("Commit not found"))
			return
		}
		f.write(w, http.StatusOK, map[string]any{"type": "commit", "hash": fakeBitbucketMerge})
	default:
		f.write(w, http.StatusNotFound, bbError("the fake does not serve "+r.Method+" "+r.URL.Path))
	}
}

func newFakeBitbucketProvider(t *testing.T, hc *http.Client, user, token string) Provider {
	t.Helper()
	p, err := New(Options{RepoURL: "https://haul-bot@bitbucket.org/acme/app.git", Username: user, Password: token, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBitbucketPullRequestsAgainstFakeServer(t *testing.T) {
	ctx := context.Background()
	const token = "ATCTT3xFfGN0-fake-access-token"
	bearer := "Bearer " + token

	t.Run("opens once, reuses the open one on replay, merges with each strategy", func(t *testing.T) {
		f, hc := newFakeBitbucket(t, bearer)
		p := newFakeBitbucketProvider(t, hc, "x-token-auth", token)
		opts := OpenOptions{SourceBranch: "haul/prod", TargetBranch: "main", Title: "Promote", Description: "why", Labels: []string{"promotion"}}
		pr, created, err := p.OpenPR(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !created || pr.Number != 5 || pr.State != StateOpen || pr.URL != "https://bitbucket.org/acme/app/pull-requests/5" ||
			pr.SourceBranch != "haul/prod" || pr.TargetBranch != "main" {
			t.Fatalf("opened %+v (created %v), want new open #5 haul/prod → main with its web URL", pr, created)
		}
		if len(f.creates) != 1 {
			t.Fatalf("%d creates, want 1", len(f.creates))
		}
		body := f.creates[0]
		if body["title"] != "Promote" || body["description"] != "why" ||
			fmt.Sprint(body["source"]) != "map[branch:map[name:haul/prod]]" || fmt.Sprint(body["destination"]) != "map[branch:map[name:main]]" {
			t.Errorf("create body = %v, want title, description, source and destination branch names", body)
		}
		q := f.lists[0]
		if q.Get("state") != "OPEN" || q.Get("pagelen") != "50" || q.Get("q") != `source.branch.name = "haul/prod" AND destination.branch.name = "main"` {
			t.Errorf("list query = %v, want open pull requests from haul/prod to main", q)
		}
		again, created, err := p.OpenPR(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if created || again.Number != 5 || len(f.creates) != 1 {
			t.Fatalf("replayed open: #%d created=%v after %d creates; want #5 found (not the fork's #4), one create", again.Number, created, len(f.creates))
		}

		merged, err := p.MergePR(ctx, 5, MergeOptions{Method: "squash"})
		if err != nil {
			t.Fatal(err)
		}
		if merged.State != StateMerged || merged.MergeCommitSHA != fakeBitbucketMerge || merged.MergedBy != "haul-bot" {
			t.Errorf("merged = %+v, want merged as the full %s by haul-bot", merged, fakeBitbucketMerge)
		}
		if len(f.merges) != 1 || f.merges[0]["merge_strategy"] != "squash" ||
			!strings.HasPrefix(fmt.Sprint(f.merges[0]["message"]), "Merged in haul/prod (pull request #5)") {
			t.Errorf("merge requests = %v, want one with merge_strategy squash and Bitbucket's default message", f.merges)
		}
		if _, err := p.MergePR(ctx, 5, MergeOptions{Method: "squash"}); err != nil || len(f.merges) != 1 {
			t.Errorf("re-merge: err %v, %d merge requests; want no error and no new request", err, len(f.merges))
		}

		for i, method := range []string{"merge_commit", "fast_forward", ""} {
			pr, _, err := p.OpenPR(ctx, OpenOptions{SourceBranch: fmt.Sprintf("haul/s%d", i), TargetBranch: "main", Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.MergePR(ctx, pr.Number, MergeOptions{Method: method}); err != nil {
				t.Fatalf("merge with %q: %v", method, err)
			}
			got, sent := f.merges[len(f.merges)-1]["merge_strategy"]
			if (method == "" && sent) || (method != "" && got != method) {
				t.Errorf("mergeMethod %q sent merge_strategy %v (present %v)", method, got, sent)
			}
		}
		before := len(f.merges)
		if _, err := p.MergePR(ctx, 3, MergeOptions{Method: "rebase"}); err == nil ||
			!strings.Contains(err.Error(), `mergeMethod "rebase"`) || !strings.Contains(err.Error(), "merge_commit, squash, fast_forward") {
			t.Errorf("unknown method: err = %v, want one naming it and the allowed values", err)
		}
		if len(f.merges) != before {
			t.Errorf("an unknown method reached Bitbucket")
		}
		for _, a := range f.auths {
			if a != bearer {
				t.Fatalf("sent Authorization %q, want the access token as a bearer token", a)
			}
		}
		if len(f.hosts) != 1 || !f.hosts["api.bitbucket.org"] {
			t.Errorf("hosts = %v, want api.bitbucket.org only", f.hosts)
		}
	})

	t.Run("an app password goes as basic auth with the user name", func(t *testing.T) {
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("haul-bot:app-password-fake"))
		f, hc := newFakeBitbucket(t, basic)
		p := newFakeBitbucketProvider(t, hc, "haul-bot", "app-password-fake")
		if _, err := p.GetPR(ctx, 3); err != nil {
			t.Fatalf("GetPR with an app password: %v (sent %q)", err, f.auths)
		}
	})

	t.Run("a merge Bitbucket finishes in the background is read back", func(t *testing.T) {
		f, hc := newFakeBitbucket(t, bearer)
		p := newFakeBitbucketProvider(t, hc, "", token)
		f.async = true
		merged, err := p.MergePR(ctx, 3, MergeOptions{})
		if err != nil || merged.State != StateMerged || merged.MergeCommitSHA != fakeBitbucketMerge {
			t.Fatalf("202 merge: %+v, %v; want it read back merged as %s", merged, err, fakeBitbucketMerge)
		}
	})

	t.Run("a refused merge carries Bitbucket's reason", func(t *testing.T) {
		f, hc := newFakeBitbucket(t, bearer)
		p := newFakeBitbucketProvider(t, hc, "x-token-auth", token)
		f.refuseStatus, f.refuseMessage = http.StatusBadRequest, "You can't merge until you resolve all merge conflicts."
		_, err := p.MergePR(ctx, 3, MergeOptions{Method: "merge_commit"})
		var nm *NotMergeableError
		if !errors.As(err, &nm) || !strings.Contains(nm.Reason, "resolve all merge conflicts") {
			t.Fatalf("err = %v, want NotMergeableError with Bitbucket's message", err)
		}
		f.prs[3]["draft"] = true
		before := len(f.merges)
		if _, err := p.MergePR(ctx, 3, MergeOptions{}); !errors.As(err, &nm) || !strings.Contains(nm.Reason, "draft") || len(f.merges) != before {
			t.Fatalf("draft: err = %v, %d new merge requests; want NotMergeableError naming the draft and none", err, len(f.merges)-before)
		}
	})

	t.Run("declined is closed, naming who declined it", func(t *testing.T) {
		f, hc := newFakeBitbucket(t, bearer)
		p := newFakeBitbucketProvider(t, hc, "x-token-auth", token)
		f.prs[3]["state"] = "DECLINED"
		f.prs[3]["closed_by"] = map[string]any{"display_name": "Mona Lisa", "nickname": "mona"}
		got, err := p.GetPR(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateClosed || got.ClosedBy != "mona" {
			t.Errorf("got state %q closed by %q, want closed by mona", got.State, got.ClosedBy)
		}
		if _, err := p.MergePR(ctx, 3, MergeOptions{}); !errors.Is(err, ErrClosed) || len(f.merges) != 0 {
			t.Errorf("merging a declined pull request: err = %v after %d merge requests, want ErrClosed and none", err, len(f.merges))
		}
	})

	t.Run("401 and 404 map to the package's errors without the token", func(t *testing.T) {
		_, hc := newFakeBitbucket(t, bearer)
		bad := newFakeBitbucketProvider(t, hc, "x-token-auth", "ATCTT3x-wrong-token")
		_, err := bad.GetPR(ctx, 3)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "Unauthorized") || strings.Contains(err.Error(), "ATCTT3x-wrong-token") {
			t.Errorf("401: err = %v, want ErrUnauthorized with Bitbucket's message and no token", err)
		}
		good := newFakeBitbucketProvider(t, hc, "x-token-auth", token)
		if _, err := good.GetPR(ctx, 99); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Pull request not found") ||
			!strings.Contains(err.Error(), "pull request 99 of acme/app") {
			t.Errorf("404: err = %v, want ErrNotFound with Bitbucket's message naming pull request 99 of acme/app", err)
		}
	})

	t.Run("a cancelled context stops the call though the client drops it", func(t *testing.T) {
		f, hc := newFakeBitbucket(t, bearer)
		p := newFakeBitbucketProvider(t, hc, "x-token-auth", token)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.GetPR(cctx, 3); !errors.Is(err, context.Canceled) || len(f.auths) != 0 {
			t.Errorf("err = %v after %d requests, want context.Canceled and none", err, len(f.auths))
		}
	})

	t.Run("only Bitbucket Cloud repository URLs", func(t *testing.T) {
		for raw, want := range map[string]string{
			"https://bitbucket.acme.internal/scm/acme/app.git": "Bitbucket Data Center is not supported",
			"https://bitbucket.org/acme/app/src/main":          "want https://bitbucket.org/<workspace>/<repository>",
			"https://bitbucket.org/acme/app%3Fx":               "want https://bitbucket.org/<workspace>/<repository>",
		} {
			_, err := New(Options{Provider: ProviderBitbucket, RepoURL: raw, Password: token})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New(%s): err = %v, want it to say %q", raw, err, want)
			}
		}
	})
}
