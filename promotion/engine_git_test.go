package promotion_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

func commitCount(t *testing.T, srv *testservers.GitServer, ref string) int {
	t.Helper()
	out, err := testservers.Git(srv.Root+"/gitops.git", "rev-list", "--count", ref)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(out, &n)
	return n
}

func TestPromotionWritesExactlyTheChangeAndIsIdempotent(t *testing.T) {
	srv, repo := gitopsRepo(t, "test")
	e := newEngine(t)
	steps := editSteps(repo, "test", "stage/test")
	res, st := run(t, e, steps, freight("1.2.3"), promotion.State{})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("phase %s: %s", res.Phase, res.Message)
	}
	diff, err := testservers.Git(srv.Root+"/gitops.git", "diff", "--name-only", "main", "stage/test")
	if err != nil {
		t.Fatal(err)
	}
	if diff != "stages/test/kustomization.yaml" {
		t.Fatalf("stage/test differs from main in %q, want only the kustomization", diff)
	}
	got, _ := srv.Show("gitops", "stage/test", "stages/test/kustomization.yaml")
	want := strings.Replace(kustomization, "newTag: 0.1.0", "newTag: 1.2.3", 1)
	if got+"\n" != want && got != want {
		t.Fatalf("kustomization:\n%s\nwant (comments kept):\n%s", got, want)
	}
	if st.Outputs["push"].(map[string]any)["branch"] != "stage/test" {
		t.Fatalf("push output: %v", st.Outputs["push"])
	}
	before := commitCount(t, srv, "stage/test")
	tip, _ := srv.RevParse("gitops", "stage/test")
	// Git dates commits to the second: within the same second the second run would make
	// the very same commit and never reach the rebase. A later second makes a different
	// commit with the same tree, which the push must drop while integrating.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
	res, _ = run(t, e, editSteps(repo, "test", "stage/test"), freight("1.2.3"), promotion.State{})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("second promotion: %s: %s", res.Phase, res.Message)
	}
	// The second run clones main (not stage/test), so it recreates the same change; the
	// push must integrate without adding history when the content is identical.
	if after := commitCount(t, srv, "stage/test"); after != before {
		t.Fatalf("same Freight again: stage/test has %d commits, want the %d it had", after, before)
	}
	if again, _ := srv.RevParse("gitops", "stage/test"); again != tip {
		t.Fatalf("same Freight again moved stage/test from %s to %s", tip, again)
	}
}

func TestOrphanStageBranchSameFreightTwiceChangesNothing(t *testing.T) {
	srv, repo := gitopsRepo(t, "test")
	e := newEngine(t)
	res, _ := run(t, e, sixSteps(repo, "test"), freight("1.0.0"), promotion.State{})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("phase %s: %s", res.Phase, res.Message)
	}
	out, err := srv.Show("gitops", "stage/test", "manifests.yaml")
	if err != nil || !strings.Contains(out, "image: example.com/app:1.0.0") {
		t.Fatalf("rendered manifest: %v\n%s", err, out)
	}
	if n := commitCount(t, srv, "stage/test"); n != 1 {
		t.Fatalf("orphan stage branch has %d commits, want 1", n)
	}
	sha, _ := srv.RevParse("gitops", "stage/test")
	res, st := run(t, e, sixSteps(repo, "test"), freight("1.0.0"), promotion.State{})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("again: %s: %s", res.Phase, res.Message)
	}
	if again, _ := srv.RevParse("gitops", "stage/test"); again != sha {
		t.Fatalf("same Freight moved stage/test from %s to %s", sha, again)
	}
	if st.Outputs["commit"].(map[string]any)["commit"] != sha {
		t.Fatalf("commit output %v, want %s", st.Outputs["commit"], sha)
	}
}

// TestCrashReplayLeavesOneCommit stops the run where a crash would (status not written
// after commit, or after push), loses the work dir and replays from persisted state.
func TestCrashReplayLeavesOneCommit(t *testing.T) {
	for _, crashAfter := range []string{"commit", "push"} {
		t.Run("after "+crashAfter, func(t *testing.T) {
			srv, repo := gitopsRepo(t, "test")
			e := newEngine(t)
			steps := sixSteps(repo, "test")
			dir := t.TempDir()
			var saved promotion.State
			crash := errors.New("killed")
			req := promotion.Request{Stage: "test", Promotion: "p1", Freight: freight("2.0.0"), Steps: steps, WorkDir: dir,
				Persist: func(_ context.Context, s promotion.State) error {
					if s.CurrentStep > 0 && s.Steps[s.CurrentStep-1].Alias == crashAfter {
						return crash // the process dies before this status write
					}
					saved = s
					return nil
				}}
			res, _ := e.Run(context.Background(), req)
			if !errors.Is(res.Err, crash) {
				t.Fatalf("want the simulated crash, got %v %s", res.Err, res.Message)
			}
			// A new pod: the work dir is gone, status holds what was saved.
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			_ = os.MkdirAll(dir, 0o755)
			req.State, req.Replay, req.Persist = saved, true, nil
			res, _ = e.Run(context.Background(), req)
			if res.Phase != haulv1.PromotionSucceeded {
				t.Fatalf("replay: %s: %s", res.Phase, res.Message)
			}
			if n := commitCount(t, srv, "stage/test"); n != 1 {
				t.Fatalf("stage/test has %d commits after replay, want 1", n)
			}
		})
	}
}

func TestConcurrentPushesToOneBranchLoseNothing(t *testing.T) {
	const n = 20
	var stages []string
	for i := range n {
		stages = append(stages, fmt.Sprintf("s%02d", i))
	}
	srv, repo := gitopsRepo(t, stages...)
	e := newEngine(t)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i, s := range stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := run(t, e, editSteps(repo, s, "main"), freight(fmt.Sprintf("1.0.%d", i)), promotion.State{})
			if res.Phase != haulv1.PromotionSucceeded {
				errs <- s + ": " + res.Message
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, s := range stages {
		got, err := srv.Show("gitops", "main", "stages/"+s+"/kustomization.yaml")
		if err != nil || !strings.Contains(got, fmt.Sprintf("newTag: 1.0.%d", i)) {
			t.Errorf("stage %s lost its change: %v\n%s", s, err, got)
		}
	}
	if c := commitCount(t, srv, "main"); c != n+1 {
		t.Errorf("main has %d commits, want %d", c, n+1)
	}
}
