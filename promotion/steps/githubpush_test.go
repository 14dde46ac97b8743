package steps

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// fakeGitHub is a fake of the part of GitHub that github-push uses: Git over smart
// HTTP (the real git http-backend of testservers.GitServer, behind a proxy that
// requires the token; tests seed the GitServer directly) and the
// REST endpoints for refs, compare and commits under /api/v3 (GitHub Enterprise
// Server's layout), implemented with git on the same bare repositories. A commit
// created through the API without an author is made by the fake's App identity and
// recorded as signed, as GitHub would sign it.
type fakeGitHub struct {
	srv   *httptest.Server
	git   *testservers.GitServer
	token string

	mu     sync.Mutex
	signed map[string]bool
	calls  []string
}

const fakeAppName, fakeAppEmail = "haul-app[bot]", "123+haul-app[bot]@users.noreply.github.com"

func startFakeGitHub(t *testing.T, token string) *fakeGitHub {
	t.Helper()
	gs, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gs.Close() })
	target, _ := url.Parse(gs.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &fakeGitHub{git: gs, token: token, signed: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/api/v3/repos/")
		if !ok {
			// Git over HTTP takes the token as the basic-auth password, as GitHub does.
			if _, p, ok := r.BasicAuth(); !ok || p != token {
				w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			proxy.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
			return
		}
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+parts[2])
		f.mu.Unlock()
		f.api(w, r, filepath.Join(gs.Root, parts[0], parts[1]+".git"), parts[2])
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// repoURL is the clone URL of owner/name on the fake.
func (f *fakeGitHub) repoURL(name string) string { return f.srv.URL + "/" + name + ".git" }

func (f *fakeGitHub) api(w http.ResponseWriter, r *http.Request, repo, path string) {
	git := func(env []string, args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "git/ref/heads/"):
		branch := strings.TrimPrefix(path, "git/ref/")
		sha, err := git(nil, "rev-parse", "-q", "--verify", "refs/"+branch)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ref": "refs/" + branch, "object": map[string]any{"sha": sha, "type": "commit"}})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "compare/"):
		base, head, _ := strings.Cut(strings.TrimPrefix(path, "compare/"), "...")
		mb, err := git(nil, "merge-base", base, head)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		ahead, _ := git(nil, "rev-list", "--count", base+".."+head)
		behind, _ := git(nil, "rev-list", "--count", head+".."+base)
		status := map[[2]bool]string{{false, false}: "identical", {true, false}: "ahead", {false, true}: "behind", {true, true}: "diverged"}[[2]bool{ahead != "0", behind != "0"}]
		list, _ := git(nil, "rev-list", "--reverse", "--topo-order", base+".."+head)
		var commits []any
		for _, sha := range strings.Fields(list) {
			out, _ := git(nil, "show", "-s", "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
			p := strings.SplitN(out, "\x00", 9)
			var parents []any
			for _, ps := range strings.Fields(p[1]) {
				parents = append(parents, map[string]any{"sha": ps})
			}
			commits = append(commits, map[string]any{"sha": sha, "parents": parents, "commit": map[string]any{
				"tree": map[string]any{"sha": p[0]}, "message": p[8],
				"author":    map[string]any{"name": p[2], "email": p[3], "date": p[4]},
				"committer": map[string]any{"name": p[5], "email": p[6], "date": p[7]},
			}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": status, "total_commits": len(commits), "merge_base_commit": map[string]any{"sha": mb}, "commits": commits})
	case r.Method == http.MethodPost && path == "git/commits":
		var body struct {
			Tree, Message     string
			Parents           []string
			Author, Committer *struct{ Name, Email, Date string }
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
			return
		}
		env := []string{"GIT_AUTHOR_NAME=" + fakeAppName, "GIT_AUTHOR_EMAIL=" + fakeAppEmail, "GIT_COMMITTER_NAME=" + fakeAppName, "GIT_COMMITTER_EMAIL=" + fakeAppEmail}
		if body.Author != nil {
			env = []string{"GIT_AUTHOR_NAME=" + body.Author.Name, "GIT_AUTHOR_EMAIL=" + body.Author.Email, "GIT_AUTHOR_DATE=" + body.Author.Date}
			c := body.Author
			if body.Committer != nil {
				c = body.Committer
			}
			env = append(env, "GIT_COMMITTER_NAME="+c.Name, "GIT_COMMITTER_EMAIL="+c.Email, "GIT_COMMITTER_DATE="+c.Date)
		}
		args := []string{"commit-tree", body.Tree, "-m", body.Message}
		for _, p := range body.Parents {
			args = append(args, "-p", p)
		}
		sha, err := git(env, args...)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Tree SHA does not exist"})
			return
		}
		if body.Author == nil {
			f.mu.Lock()
			f.signed[sha] = true
			f.mu.Unlock()
		}
		writeJSON(w, http.StatusCreated, map[string]any{"sha": sha})
	case r.Method == http.MethodPost && path == "git/refs":
		var body struct{ Ref, SHA string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if _, err := git(nil, "rev-parse", "-q", "--verify", body.Ref); err == nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference already exists"})
			return
		}
		if _, err := git(nil, "update-ref", body.Ref, body.SHA); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Object does not exist"})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"ref": body.Ref, "object": map[string]any{"sha": body.SHA}})
	case r.Method == http.MethodPatch && strings.HasPrefix(path, "git/refs/heads/"):
		ref := "refs/" + strings.TrimPrefix(path, "git/refs/")
		var body struct {
			SHA   string
			Force bool
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		cur, err := git(nil, "rev-parse", "-q", "--verify", ref)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference does not exist"})
			return
		}
		if _, err := git(nil, "merge-base", "--is-ancestor", cur, body.SHA); err != nil && !body.Force {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Update is not a fast forward"})
			return
		}
		if _, err := git(nil, "update-ref", ref, body.SHA); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Object does not exist"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ref": ref, "object": map[string]any{"sha": body.SHA}})
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "git/refs/"):
		if _, err := git(nil, "update-ref", "-d", "refs/"+strings.TrimPrefix(path, "git/refs/")); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference does not exist"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// githubRun clones acme/gitops from the fake into "src", with the project's git
// credential holding token, and returns the run and its services.
func githubRun(t *testing.T, f *fakeGitHub, token string, cloneCfg map[string]any) (*stepRun, *promotion.Services) {
	t.Helper()
	svc := &promotion.Services{
		Git: gitx.New(filepath.Join(t.TempDir(), "cache")),
		Credentials: func(_ context.Context, credType, u string) (string, string, bool, error) {
			if credType == "git" && u == f.repoURL("acme/gitops") && token != "" {
				return "x-access-token", token, true, nil
			}
			return "", "", false, nil
		},
	}
	r := newStepRun(t, nil)
	cfg := map[string]any{"repoURL": f.repoURL("acme/gitops"), "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}
	for k, v := range cloneCfg {
		cfg[k] = v
	}
	if _, err := r.runWith(t, svc, gitClone, cfg); err != nil {
		t.Fatal(err)
	}
	return r, svc
}

func (f *fakeGitHub) rev(t *testing.T, ref string) string {
	t.Helper()
	sha, err := f.git.RevParse("acme/gitops", ref)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func TestGitHubPushAgainstFakeGitHubReplaysCommitsAsSigned(t *testing.T) {
	f := startFakeGitHub(t, "ghs_t0ken")
	if _, err := f.git.SeedRepo("acme/gitops", map[string]string{"app/values.yaml": "tag: 1\n"}); err != nil {
		t.Fatal(err)
	}
	r, svc := githubRun(t, f, "ghs_t0ken", map[string]any{"author": map[string]any{"name": "Kargo Render", "email": "render@example.com"}})
	r.mustRun(t, fileWrite, map[string]any{"path": "src/app/values.yaml", "contents": "tag: 2\n", "overwrite": true})
	if _, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "tag to 2"}); err != nil {
		t.Fatal(err)
	}
	// Someone else pushes to main meanwhile: the step must integrate it.
	theirs, err := f.git.Commit("acme/gitops", "main", map[string]string{"README.md": "hello\n"}, "docs")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src"})
	if err != nil {
		t.Fatal(err)
	}
	head := f.rev(t, "refs/heads/main")
	if res.Output["commit"] != head || res.Output["branch"] != "main" {
		t.Fatalf("outputs %v, want commit %s on main", res.Output, head)
	}
	if want := "https://" + strings.TrimPrefix(f.srv.URL, "http://") + "/acme/gitops/commit/" + head; res.Output["commitURL"] != want {
		t.Errorf("commitURL = %v, want %s", res.Output["commitURL"], want)
	}
	if got, _ := f.git.Show("acme/gitops", "main", "app/values.yaml"); got != "tag: 2" {
		t.Errorf("app/values.yaml on main = %q, want tag: 2", got)
	}
	if parent := f.rev(t, head+"^"); parent != theirs {
		t.Errorf("the replayed commit's parent is %s, want the concurrent commit %s (a linear history)", parent, theirs)
	}
	if !f.signed[head] {
		t.Errorf("commit %s was created with an author; Haul's own commits must be left to GitHub to sign", head)
	}
	msg, _ := testservers.Git(f.git.Root+"/acme/gitops.git", "log", "-1", "--format=%an|%B", head)
	if !strings.HasPrefix(msg, fakeAppName+"|tag to 2") {
		t.Errorf("replayed commit = %q, want the App as author and the original message", msg)
	}
	if _, err := f.git.RevParse("acme/gitops", "refs/haul/staging/uat.01"); err == nil {
		t.Error("the staging ref was left behind")
	}
	local, _ := testservers.Git(filepath.Join(r.dir, "src"), "rev-parse", "HEAD")
	if local != head {
		t.Errorf("local HEAD %s, want the replayed head %s", local, head)
	}
}

func TestGitHubPushAgainstFakeGitHubKeepsOthersAuthorship(t *testing.T) {
	f := startFakeGitHub(t, "ghs_t0ken")
	if _, err := f.git.SeedRepo("acme/gitops", map[string]string{"a": "1\n"}); err != nil {
		t.Fatal(err)
	}
	r, svc := githubRun(t, f, "ghs_t0ken", nil)
	// A commit made by someone else in the work tree (not through git-commit).
	writeFiles(t, filepath.Join(r.dir, "src"), map[string]string{"b": "2\n"})
	if _, err := testservers.Git(filepath.Join(r.dir, "src"), "add", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := testservers.Git(filepath.Join(r.dir, "src"), "commit", "-q", "-m", "by hand"); err != nil {
		t.Fatal(err)
	}
	res, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src", "targetBranch": "stage/uat"})
	if err != nil {
		t.Fatal(err)
	}
	head := f.rev(t, "refs/heads/stage/uat")
	if res.Output["commit"] != head || res.Output["branch"] != "stage/uat" {
		t.Fatalf("outputs %v, want %s on stage/uat", res.Output, head)
	}
	if f.signed[head] {
		t.Error("someone else's commit was replayed as the App's")
	}
	who, _ := testservers.Git(f.git.Root+"/acme/gitops.git", "log", "-1", "--format=%an <%ae>", head)
	if who != "Haul Test <test@haul.dev>" {
		t.Errorf("author = %q, want the original", who)
	}
}

func TestGitHubPushAgainstFakeGitHubGeneratedBranchAndRefusals(t *testing.T) {
	f := startFakeGitHub(t, "ghs_t0ken")
	if _, err := f.git.SeedRepo("acme/gitops", map[string]string{"a": "1\n"}); err != nil {
		t.Fatal(err)
	}
	t.Run("generateTargetBranch", func(t *testing.T) {
		r, svc := githubRun(t, f, "ghs_t0ken", nil)
		r.mustRun(t, fileWrite, map[string]any{"path": "src/a", "contents": "2\n", "overwrite": true})
		if _, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "a to 2"}); err != nil {
			t.Fatal(err)
		}
		res, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src", "generateTargetBranch": true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Output["branch"] != "haul/promotion/uat.01" || res.Output["commit"] != f.rev(t, "refs/heads/haul/promotion/uat.01") {
			t.Fatalf("outputs %v", res.Output)
		}
		if got, _ := f.git.Show("acme/gitops", "haul/promotion/uat.01", "a"); got != "2" {
			t.Errorf("a on the generated branch = %q", got)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		r, svc := githubRun(t, f, "ghs_t0ken", nil)
		svc.Credentials = func(context.Context, string, string) (string, string, bool, error) { return "", "", false, nil }
		_, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src"})
		wantErr(t, err, "no git credentials found for "+f.repoURL("acme/gitops"), "GitHub token")
		if !promotion.IsTerminal(err) {
			t.Error("not terminal")
		}
	})
	t.Run("a token the API refuses", func(t *testing.T) {
		r, svc := githubRun(t, f, "ghs_t0ken", nil)
		svc.Credentials = func(context.Context, string, string) (string, string, bool, error) {
			return "x-access-token", "ghs_wr0ng", true, nil
		}
		_, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src"})
		wantErr(t, err, "reading branch main of acme/gitops", "refused the credential")
		if strings.Contains(err.Error(), "ghs_wr0ng") {
			t.Errorf("error %q shows the token", err)
		}
	})
	t.Run("a conflict", func(t *testing.T) {
		r, svc := githubRun(t, f, "ghs_t0ken", nil)
		r.mustRun(t, fileWrite, map[string]any{"path": "src/a", "contents": "mine\n", "overwrite": true})
		if _, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "mine"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.git.Commit("acme/gitops", "main", map[string]string{"a": "theirs\n"}, "theirs"); err != nil {
			t.Fatal(err)
		}
		_, err := r.runWith(t, svc, githubPush, map[string]any{"path": "src"})
		wantErr(t, err, "conflict")
		if !promotion.IsTerminal(err) {
			t.Error("a conflict is not terminal")
		}
	})
	t.Run("both targetBranch and generateTargetBranch", func(t *testing.T) {
		_, err := newStepRun(t, nil).run(t, githubPush, map[string]any{"path": "src", "targetBranch": "x", "generateTargetBranch": true})
		wantErr(t, err, "set only one of targetBranch and generateTargetBranch")
	})
}
