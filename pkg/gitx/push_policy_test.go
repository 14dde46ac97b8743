package gitx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
)

// racingRemote serves srv's repository "r" through a proxy that, after every fetch
// (upload-pack exchange), has another writer push a commit to main: each of our
// pushes then finds the branch moved again, as with a busy branch.
type racingRemote struct {
	URL     string
	fetches atomic.Int64
	racers  atomic.Int64
}

func newRacingRemote(t *testing.T, srv *testservers.GitServer) *racingRemote {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	rr := &racingRemote{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One fetch is one upload-pack advertisement (protocol v2 then POSTs
		// ls-refs and fetch).
		if r.Method == http.MethodGet && r.URL.Query().Get("service") == "git-upload-pack" {
			rr.fetches.Add(1)
		}
		proxy.ServeHTTP(w, r)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			n := rr.racers.Add(1)
			if _, err := srv.Commit("r", "main", map[string]string{fmt.Sprintf("theirs-%d", n): "x\n"}, "racer"); err != nil {
				t.Errorf("racing commit: %v", err)
			}
		}
	}))
	t.Cleanup(ts.Close)
	rr.URL = ts.URL + "/r.git"
	return rr
}

// TestPushHonoursTheAttemptCapWithJitteredWaits is scenario 19's retry loop against a
// branch that moves after every fetch: Push tries exactly MaxAttempts pushes,
// integrates before each retry, waits between the later ones half the delay plus
// the jitter it was given (the delay doubling up to 5s), then gives up saying so.
// Nothing of ours reaches the remote.
func TestPushHonoursTheAttemptCapWithJitteredWaits(t *testing.T) {
	for _, c := range []struct {
		name     string
		attempts int
		backoff  time.Duration
		delays   []time.Duration // the delay each wait is built from
	}{
		{"maxAttempts 4", 4, 100 * time.Millisecond, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"default 10", 0, 0, []time.Duration{50, 100, 200, 400, 800, 1600, 3200, 5000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.backoff == 0 {
				for i := range c.delays {
					c.delays[i] *= time.Millisecond
				}
			}
			srv := seededServer(t)
			remote := newRacingRemote(t, srv)
			ctx := context.Background()
			w, err := gitx.New(t.TempDir()).Clone(ctx, remote.URL, nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			ours := commitFile(t, w, "ours", "1\n")
			cloneFetches := remote.fetches.Load()
			// The jitter source returns a different fraction of its bound each time.
			fractions := []int64{3, 9, 1, 7, 5, 2, 8, 4}
			var asked, slept []time.Duration
			opts := gitx.WithClock(gitx.PushOptions{MaxAttempts: c.attempts, Backoff: c.backoff},
				func(n time.Duration) time.Duration {
					asked = append(asked, n)
					return n * time.Duration(fractions[(len(asked)-1)%len(fractions)]) / 10
				},
				func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil })
			_, err = w.Push(ctx, "main", opts)
			want := c.attempts
			if want == 0 {
				want = 10
			}
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d attempts", want)) {
				t.Fatalf("got %v, want giving up after %d attempts", err, want)
			}
			if got := remote.fetches.Load() - cloneFetches; got != int64(want-1) {
				t.Errorf("integrated %d times, want %d (once before each retry)", got, want-1)
			}
			if len(slept) != want-2 {
				t.Fatalf("waited %d times (%v), want %d: none before the first retry", len(slept), slept, want-2)
			}
			if len(asked) != len(c.delays) {
				t.Fatalf("the jitter source was asked %d times (%v), want once per wait: the waits are not jittered", len(asked), asked)
			}
			for i, d := range c.delays {
				if asked[i] != d {
					t.Errorf("wait %d: jitter bound %s, want the delay %s", i+1, asked[i], d)
				}
				if wantSleep := d/2 + d*time.Duration(fractions[i])/10; slept[i] != wantSleep {
					t.Errorf("wait %d: slept %s, want %s/2 + jitter %s", i+1, slept[i], d, d*time.Duration(fractions[i])/10)
				}
			}
			if out, _ := testservers.Git(filepath.Join(srv.Root, "r.git"), "log", "--format=%s", "main"); strings.Contains(out, "set ours") {
				t.Errorf("our commit %s reached the remote although every push was refused", ours)
			}
		})
	}
}

// signingKey makes an SSH key git can sign commits with.
func signingKey(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is needed to sign test commits")
	}
	key := filepath.Join(t.TempDir(), "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return key
}

// TestPushIntegrationPolicies: Kargo's four policies on a branch another writer moved.
// Haul does not sign, so rebasing a signed commit would drop its signature:
// RebaseOrMerge then merges (the signed commit stays as it is), RebaseOrFail fails
// naming the commit (terminal for the step), AlwaysRebase rebases anyway, and
// AlwaysMerge always merges.
func TestPushIntegrationPolicies(t *testing.T) {
	key := signingKey(t)
	for _, c := range []struct {
		policy gitx.Integration
		signed bool
		want   string // linear, merge or refused
	}{
		{gitx.AlwaysRebase, false, "linear"},
		{gitx.AlwaysRebase, true, "linear"},
		{gitx.RebaseOrMerge, false, "linear"},
		{gitx.RebaseOrMerge, true, "merge"},
		{gitx.RebaseOrFail, false, "linear"},
		{gitx.RebaseOrFail, true, "refused"},
		{gitx.AlwaysMerge, false, "merge"},
	} {
		t.Run(fmt.Sprintf("%s signed=%v", c.policy, c.signed), func(t *testing.T) {
			srv := seededServer(t)
			ctx := context.Background()
			w, err := gitx.New(t.TempDir()).Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			var ours string
			if c.signed {
				_ = os.WriteFile(filepath.Join(w.Dir, "ours"), []byte("1\n"), 0o644)
				if _, err := testservers.Git(w.Dir, "add", "ours"); err != nil {
					t.Fatal(err)
				}
				if _, err := testservers.Git(w.Dir, "-c", "gpg.format=ssh", "-c", "user.signingkey="+key, "commit", "-q", "-S", "-m", "signed"); err != nil {
					t.Fatal(err)
				}
				ours = w.Head(ctx)
			} else {
				ours = commitFile(t, w, "ours", "1\n")
			}
			theirs, err := srv.Commit("r", "main", map[string]string{"theirs": "1\n"}, "theirs")
			if err != nil {
				t.Fatal(err)
			}
			head, err := w.Push(ctx, "main", gitx.PushOptions{Integration: c.policy})
			bare := filepath.Join(srv.Root, "r.git")
			if c.want == "refused" {
				if !errors.Is(err, gitx.ErrUnsafeRebase) || !strings.Contains(err.Error(), ours) || !strings.Contains(err.Error(), "RebaseOrFail") {
					t.Fatalf("got %v, want ErrUnsafeRebase naming the policy and commit %s", err, ours)
				}
				if got, _ := srv.RevParse("r", "main"); got != theirs {
					t.Errorf("remote main moved to %s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := srv.RevParse("r", "main"); got != head {
				t.Fatalf("remote main %s, want the pushed %s", got, head)
			}
			parents, _ := testservers.Git(bare, "log", "-1", "--format=%P", "main")
			switch c.want {
			case "linear":
				if parents != theirs {
					t.Errorf("parents %q, want our commit rebased onto %s", parents, theirs)
				}
			case "merge":
				if parents != ours+" "+theirs {
					t.Errorf("parents %q, want a merge of our %s and their %s", parents, ours, theirs)
				}
				if c.signed {
					if raw, _ := testservers.Git(bare, "cat-file", "commit", ours); !strings.Contains(raw, "gpgsig ") {
						t.Errorf("the signed commit lost its signature:\n%s", raw)
					}
				}
			}
			for _, f := range []string{"ours", "theirs"} {
				if got, _ := srv.Show("r", "main", f); got != "1" {
					t.Errorf("remote %s = %q", f, got)
				}
			}
		})
	}
}

// TestPushConflictNamesTheFile: both writers changed the same line; the rebase (or
// merge) stops, the work tree is left as it was, and the error is ErrConflict naming
// the file.
func TestPushConflictNamesTheFile(t *testing.T) {
	for _, policy := range []gitx.Integration{gitx.AlwaysRebase, gitx.AlwaysMerge} {
		t.Run(string(policy), func(t *testing.T) {
			srv := seededServer(t)
			ctx := context.Background()
			w, err := gitx.New(t.TempDir()).Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			ours := commitFile(t, w, "v", "ours\n")
			theirs, err := srv.Commit("r", "main", map[string]string{"v": "theirs\n"}, "theirs")
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Push(ctx, "main", gitx.PushOptions{Integration: policy})
			if !errors.Is(err, gitx.ErrConflict) || !strings.HasSuffix(err.Error(), "conflict with commits pushed to the branch meanwhile in v") {
				t.Fatalf("got %v, want ErrConflict in v", err)
			}
			if w.Head(ctx) != ours {
				t.Errorf("work tree head %s, want it back at %s", w.Head(ctx), ours)
			}
			if got, _ := srv.RevParse("r", "main"); got != theirs {
				t.Errorf("remote main %s, want their %s", got, theirs)
			}
		})
	}
}
