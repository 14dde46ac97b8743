package gitx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// ErrConflict means the work tree's commits cannot be integrated with the commits
// another writer pushed to the branch first: the same lines changed.
var ErrConflict = errors.New("conflict with commits pushed to the branch meanwhile")

// ErrUnsafeRebase means the policy allows a rebase only when no signature is lost,
// and a commit to be replayed is signed (Haul does not sign, so a rebase would drop it).
var ErrUnsafeRebase = errors.New("rebasing would drop commit signatures")

// Integration is how Push integrates commits another writer pushed first. The
// values are Kargo's push integration policies. Haul never signs commits, so a
// rebase is "safe" (keeps every signature) exactly when none of the commits it
// replays is signed.
type Integration string

// Push integration policies.
const (
	// AlwaysRebase rebases the work tree's commits onto the remote branch (default).
	AlwaysRebase Integration = "AlwaysRebase"
	// RebaseOrMerge rebases when that is safe, and merges otherwise.
	RebaseOrMerge Integration = "RebaseOrMerge"
	// RebaseOrFail rebases when that is safe, and fails (ErrUnsafeRebase) otherwise.
	RebaseOrFail Integration = "RebaseOrFail"
	// AlwaysMerge merges the remote branch with a merge commit.
	AlwaysMerge Integration = "AlwaysMerge"
)

// Integrations lists the policies, for flags and messages.
var Integrations = []Integration{AlwaysRebase, RebaseOrMerge, RebaseOrFail, AlwaysMerge}

// ParseIntegration reads a policy name; "" is AlwaysRebase.
func ParseIntegration(s string) (Integration, error) {
	if s == "" {
		return AlwaysRebase, nil
	}
	for _, p := range Integrations {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("push integration policy %q must be one of %v", s, Integrations)
}

// PushOptions tune Push.
type PushOptions struct {
	// MaxAttempts bounds push attempts on non-fast-forward (default 10).
	MaxAttempts int
	Force       bool
	// Backoff is the base delay between attempts (default 50ms, doubled up to 5s);
	// each wait is half the delay plus a random part of up to the delay.
	Backoff time.Duration
	// Integration is how commits pushed meanwhile are integrated (default AlwaysRebase).
	Integration Integration

	// jitter returns a random duration in [0, n) and sleep waits (tests replace both).
	jitter func(n time.Duration) time.Duration
	sleep  func(ctx context.Context, d time.Duration) error
}

func randomJitter(n time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(n))) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Push pushes HEAD to branch. When the remote moved on, it fetches the branch,
// integrates it per opts.Integration and tries again with jittered backoff, at most
// opts.MaxAttempts pushes. A conflict returns ErrConflict, an unsafe rebase under
// RebaseOrFail ErrUnsafeRebase. Pushing what the remote already has succeeds without
// changing anything.
func (w *Worktree) Push(ctx context.Context, branch string, opts PushOptions) (string, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 50 * time.Millisecond
	}
	if opts.jitter == nil {
		opts.jitter = randomJitter
	}
	if opts.sleep == nil {
		opts.sleep = sleepCtx
	}
	head := w.Head(ctx)
	if head == "" {
		return "", errors.New("nothing to push: the branch has no commits")
	}
	// Pushes from this process to one branch take turns; other writers (replicas,
	// humans) are integrated by the fetch-integrate-retry loop below.
	// (Force pushes go to Promotion-scoped branches and need no turn-taking.)
	if !opts.Force {
		mu := pushLock(w.URL + "#" + branch)
		mu.Lock()
		defer mu.Unlock()
	}
	if !opts.Force && w.pushDirect(ctx, branch, head) {
		return head, nil
	}
	ref := "HEAD:refs/heads/" + branch
	delay := opts.Backoff
	var lastErr error
	for attempt := 1; attempt <= opts.MaxAttempts; attempt++ {
		args := []string{"push", "-q", "origin", ref}
		if opts.Force {
			args = []string{"push", "-q", "--force", "origin", ref}
		}
		_, err := w.Git(ctx, args...)
		if err == nil {
			return head, nil
		}
		lastErr = err
		if opts.Force || !isNonFastForward(err) {
			return "", RedactError(fmt.Errorf("pushing to %s: %w", branch, err))
		}
		if attempt == opts.MaxAttempts {
			break
		}
		// The first rejection usually just means our base is old: integrate at once.
		// Later ones mean a race with another writer: back off with jitter.
		if attempt > 1 {
			if err := opts.sleep(ctx, delay/2+opts.jitter(delay)); err != nil {
				return "", err
			}
			delay = min(delay*2, 5*time.Second)
		}
		if err := w.Integrate(ctx, branch, opts.Integration); err != nil {
			return "", err
		}
		head = w.Head(ctx)
	}
	return "", RedactError(fmt.Errorf("pushing to %s: gave up after %d attempts: %w", branch, opts.MaxAttempts, lastErr))
}

// Integrate fetches branch from the remote and integrates it with the work tree's
// commits per policy. A conflict leaves the work tree as it was and returns an
// ErrConflict naming the conflicting files; RebaseOrFail with a signed commit to
// replay returns ErrUnsafeRebase naming it.
func (w *Worktree) Integrate(ctx context.Context, branch string, policy Integration) error {
	if _, err := w.Git(ctx, "fetch", "-q", "origin", "refs/heads/"+branch); err != nil {
		return RedactError(fmt.Errorf("fetching %s to integrate: %w", branch, err))
	}
	theirs, _ := w.Git(ctx, "rev-parse", "--short", "FETCH_HEAD")
	merge := policy == AlwaysMerge
	if policy == RebaseOrMerge || policy == RebaseOrFail {
		signed, err := w.signedCommits(ctx, "FETCH_HEAD..HEAD")
		if err != nil {
			return err
		}
		if len(signed) > 0 {
			if policy == RebaseOrFail {
				return fmt.Errorf("branch %s: the push integration policy is %s and commit %s is signed: %w", branch, policy, signed[0], ErrUnsafeRebase)
			}
			merge = true
		}
	}
	if merge {
		if _, err := w.Git(ctx, "merge", "-q", "--no-edit", "--no-ff", "-m", "Merge "+branch+" into the promoted changes", "FETCH_HEAD"); err != nil {
			files := w.conflicts(ctx)
			_, _ = w.Git(ctx, "merge", "--abort")
			return fmt.Errorf("branch %s: merging %s: %w%s", branch, theirs, ErrConflict, files)
		}
		return nil
	}
	if _, err := w.Git(ctx, "rebase", "-q", "FETCH_HEAD"); err != nil {
		files := w.conflicts(ctx)
		_, _ = w.Git(ctx, "rebase", "--abort")
		return fmt.Errorf("branch %s: rebasing onto %s: %w%s", branch, theirs, ErrConflict, files)
	}
	return nil
}

// conflicts names the unmerged files of a failed rebase or merge, as " in a, b".
func (w *Worktree) conflicts(ctx context.Context) string {
	out, err := w.Git(ctx, "diff", "--name-only", "--diff-filter=U")
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	files := strings.Fields(out)
	if len(files) > 5 {
		files = append(files[:5], fmt.Sprintf("and %d more", len(files)-5))
	}
	return " in " + strings.Join(files, ", ")
}

// signedCommits lists the commits of revs that carry a signature (gpgsig header).
func (w *Worktree) signedCommits(ctx context.Context, revs string) ([]string, error) {
	out, err := w.Git(ctx, "log", "--pretty=raw", "--no-decorate", revs)
	if err != nil {
		return nil, fmt.Errorf("reading the commits to integrate: %w", err)
	}
	var signed []string
	commit := ""
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "commit "); ok {
			commit = id
			continue
		}
		if strings.HasPrefix(line, "gpgsig ") || strings.HasPrefix(line, "gpgsig-sha256 ") {
			if len(signed) == 0 || signed[len(signed)-1] != commit {
				signed = append(signed, commit)
			}
		}
	}
	return signed, nil
}

var pushLocks sync.Map // remote URL#branch → *sync.Mutex

func pushLock(key string) *sync.Mutex {
	mu, _ := pushLocks.LoadOrStore(key, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

func isNonFastForward(err error) bool {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return false
	}
	s := ce.Stderr
	return strings.Contains(s, "non-fast-forward") || strings.Contains(s, "fetch first") ||
		strings.Contains(s, "[rejected]") || strings.Contains(s, "[remote rejected]") && strings.Contains(s, "cannot lock ref")
}
