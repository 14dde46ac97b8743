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

// ErrConflict means the work tree's commits cannot be rebased onto the remote branch.
var ErrConflict = errors.New("rebase onto the remote branch hit a conflict")

// PushOptions tune Push.
type PushOptions struct {
	// MaxAttempts bounds push attempts on non-fast-forward (default 10).
	MaxAttempts int
	Force       bool
	// Backoff is the base delay between attempts (default 50ms, doubled, jittered, max 2s).
	Backoff time.Duration
}

// Push pushes HEAD to branch. When the remote moved on, it fetches the branch, rebases
// onto it and tries again with jittered backoff. A rebase conflict returns ErrConflict.
// Pushing what the remote already has succeeds without changing anything.
func (w *Worktree) Push(ctx context.Context, branch string, opts PushOptions) (string, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 50 * time.Millisecond
	}
	head := w.Head(ctx)
	if head == "" {
		return "", errors.New("nothing to push: the branch has no commits")
	}
	// Pushes from this process to one branch take turns; other writers (replicas,
	// humans) are integrated by the fetch-rebase-retry loop below.
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
			jitter := time.Duration(rand.Int64N(int64(delay)))
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay/2 + jitter):
			}
			if delay *= 2; delay > 5*time.Second {
				delay = 5 * time.Second
			}
		}
		if _, err := w.Git(ctx, "fetch", "-q", "origin", "refs/heads/"+branch); err != nil {
			return "", RedactError(fmt.Errorf("fetching %s to integrate: %w", branch, err))
		}
		if _, err := w.Git(ctx, "rebase", "-q", "FETCH_HEAD"); err != nil {
			_, _ = w.Git(ctx, "rebase", "--abort")
			return "", fmt.Errorf("branch %s: %w", branch, ErrConflict)
		}
		head = w.Head(ctx)
	}
	return "", RedactError(fmt.Errorf("pushing to %s: gave up after %d attempts: %w", branch, opts.MaxAttempts, lastErr))
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
