package gitx_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
)

// seededServer serves repository "r" whose main branch holds v=1.
func seededServer(t *testing.T) *testservers.GitServer {
	t.Helper()
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := srv.SeedRepo("r", map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	return srv
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// commitFile writes a file in the work tree and commits it.
func commitFile(t *testing.T, w *gitx.Worktree, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.Dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	head, made, err := w.CommitAll(context.Background(), "set "+name)
	if err != nil || !made {
		t.Fatalf("commit: made=%v %v", made, err)
	}
	return head
}

func TestFetchAsksTheRemoteOnlyWhenItChanged(t *testing.T) {
	srv := seededServer(t)
	ctx := context.Background()
	c := gitx.New(t.TempDir())
	if _, err := c.Fetch(ctx, srv.RepoURL("r"), nil); err != nil {
		t.Fatal(err)
	}
	first := srv.CountPosts("git-upload-pack")
	if first == 0 {
		t.Fatal("first fetch made no upload-pack exchange")
	}
	if _, err := c.Fetch(ctx, srv.RepoURL("r"), nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.CountPosts("git-upload-pack"); n != first {
		t.Fatalf("fetch of an unchanged remote downloaded again (%d → %d exchanges)", first, n)
	}
	// Someone else pushes: the next fetch must see it.
	if _, err := srv.Commit("r", "main", map[string]string{"v": "2"}, "two"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(w.Dir, "v")); got != "2" {
		t.Fatalf("after a remote change the checkout has v=%q, want 2", got)
	}
	// A deleted remote branch is a change too.
	if _, err := testservers.Git(filepath.Join(srv.Root, "r.git"), "branch", "gone", "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctx, srv.RepoURL("r"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := testservers.Git(filepath.Join(srv.Root, "r.git"), "branch", "-D", "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "gone"}); err == nil {
		t.Fatal("checked out a branch the remote deleted")
	}
}

func TestOwnPushNeedsNoFetchAndIsCheckedOutNext(t *testing.T) {
	srv := seededServer(t)
	ctx := context.Background()
	c := gitx.New(t.TempDir())
	url := srv.RepoURL("r")
	w, err := c.Clone(ctx, url, nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "stage/test", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	head := commitFile(t, w, "manifests.yaml", "kind: A\n")
	if _, err := w.Push(ctx, "stage/test", gitx.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	c.NotePush(w, "stage/test", head)
	if got, _ := srv.RevParse("r", "stage/test"); got != head {
		t.Fatalf("remote stage/test = %s, want %s", got, head)
	}
	fetches := srv.CountPosts("git-upload-pack")
	// The work tree is gone (Promotion finished); the next one builds on the pushed commit.
	if err := os.RemoveAll(w.Dir); err != nil {
		t.Fatal(err)
	}
	w2, err := c.Clone(ctx, url, nil, nil, filepath.Join(t.TempDir(), "w2"), gitx.Checkout{Branch: "stage/test", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.CountPosts("git-upload-pack"); n != fetches {
		t.Fatalf("fetched again after our own push (%d → %d exchanges)", fetches, n)
	}
	if w2.Head(ctx) != head || readFile(t, filepath.Join(w2.Dir, "manifests.yaml")) != "kind: A\n" {
		t.Fatalf("second checkout at %s, want the pushed %s", w2.Head(ctx), head)
	}
	next := commitFile(t, w2, "manifests.yaml", "kind: B\n")
	if _, err := w2.Push(ctx, "stage/test", gitx.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.RevParse("r", "stage/test"); got != next {
		t.Fatalf("remote stage/test = %s, want %s", got, next)
	}
	if out, err := testservers.Git(filepath.Join(srv.Root, "r.git"), "fsck", "--connectivity-only"); err != nil {
		t.Fatalf("remote repository is broken: %v %s", err, out)
	}
}

func TestPushedInProcessUnlessTheRemoteMoved(t *testing.T) {
	srv := seededServer(t)
	ctx := context.Background()
	c := gitx.New(t.TempDir())
	url := srv.RepoURL("r")
	w, err := c.Clone(ctx, url, nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	// Two local commits: still a fast-forward, and both arrive.
	commitFile(t, w, "a", "ours\n")
	two := commitFile(t, w, "c", "also ours\n")
	if _, err := w.Push(ctx, "main", gitx.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	pushes := srv.Posts()
	if last := pushes[len(pushes)-1]; last.Service != "git-receive-pack" || !strings.HasPrefix(last.UserAgent, "go-git") {
		t.Fatalf("a plain fast-forward was pushed by %q, want the in-process push", last.UserAgent)
	}
	if got, _ := srv.RevParse("r", "main"); got != two {
		t.Fatalf("remote main = %s, want %s", got, two)
	}
	if got, _ := srv.Show("r", "main~1", "a"); got != "ours" {
		t.Fatalf("the first of two commits did not arrive: a = %q", got)
	}
	// Another writer moves main; our next commit is not a fast-forward any more and
	// must be rebased, not overwrite theirs.
	theirs, err := srv.Commit("r", "main", map[string]string{"b": "theirs\n"}, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	commitFile(t, w, "a", "ours again\n")
	head, err := w.Push(ctx, "main", gitx.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.RevParse("r", "main"); got != head {
		t.Fatalf("remote main = %s, want %s", got, head)
	}
	if parent, _ := srv.RevParse("r", "main~1"); parent != theirs {
		t.Fatalf("our commit sits on %s, want the other writer's %s", parent, theirs)
	}
	for file, want := range map[string]string{"a": "ours again\n", "b": "theirs\n"} {
		if got, _ := srv.Show("r", "main", file); got != strings.TrimSpace(want) {
			t.Errorf("remote %s = %q, want %q", file, got, want)
		}
	}
	if out, err := testservers.Git(filepath.Join(srv.Root, "r.git"), "fsck", "--connectivity-only"); err != nil {
		t.Fatalf("remote repository is broken: %v %s", err, out)
	}
}

func TestInProcessPushSendsCredentials(t *testing.T) {
	srv := seededServer(t)
	proxy, err := testservers.AuthProxy(srv.URL, "haul", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	ctx := context.Background()
	c := gitx.New(t.TempDir())
	auth := &gitx.Auth{Username: "haul", Password: "s3cret"}
	w, err := c.Clone(ctx, proxy.URL+"/r.git", auth, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	head := commitFile(t, w, "a", "x\n")
	if _, err := w.Push(ctx, "main", gitx.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.RevParse("r", "main"); got != head {
		t.Fatalf("remote main = %s, want %s", got, head)
	}
	pushes := srv.Posts()
	if last := pushes[len(pushes)-1]; !strings.HasPrefix(last.UserAgent, "go-git") {
		t.Fatalf("pushed by %q, want the in-process push", last.UserAgent)
	}
}

// TestStalledRemoteDoesNotHangAFetch: a server that accepts and then goes silent must
// end the fetch with an error once the no-progress timeout passes (the in-process ref
// check and the git fallback each give up), never hold the worker.
func TestStalledRemoteDoesNotHangAFetch(t *testing.T) {
	defer gitx.SetStallTimeout(2 * time.Second)()
	addr, stop, err := testservers.StallingServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	start := time.Now()
	_, err = gitx.New(t.TempDir()).Fetch(context.Background(), "http://"+addr+"/stall.git", nil)
	if err == nil {
		t.Fatal("fetch from a stalled server succeeded")
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("a stalled server held the fetch for %s", el)
	}
}
