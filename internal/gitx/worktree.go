package gitx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Worktree is a checkout of one remote in a Promotion's work dir. Its objects are
// borrowed from the cache (alternates), so creating one copies no history.
type Worktree struct {
	Dir  string
	URL  string
	Auth *Auth
	ID   *Identity
}

// Checkout describes what to check out.
type Checkout struct {
	Branch string
	Tag    string
	Commit string
	// Create makes Branch as an orphan (empty history) when the remote lacks it.
	Create bool
}

// ErrRefNotFound is returned when the branch, tag or commit does not exist remotely.
var ErrRefNotFound = errors.New("not found in the remote repository")

// Clone fetches url into the cache and checks co out into dir (which must not exist
// or be empty).
func (c *Cache) Clone(ctx context.Context, url string, auth *Auth, id *Identity, dir string, co Checkout) (*Worktree, error) {
	cacheDir, err := c.Fetch(ctx, url, auth)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("creating work tree: %w", err)
	}
	// A leftover directory (from a crashed run of the same Promotion) is replaced.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("cleaning work tree: %w", err)
	}
	if _, err := run(ctx, filepath.Dir(dir), nil, id, "clone", "-q", "--shared", "--no-checkout", "--", cacheDir, dir); err != nil {
		return nil, err
	}
	w := &Worktree{Dir: dir, URL: url, Auth: auth, ID: id}
	if _, err := w.Git(ctx, "remote", "set-url", "origin", url); err != nil {
		return nil, err
	}
	switch {
	case co.Commit != "":
		if _, err := w.Git(ctx, "checkout", "-q", "--detach", co.Commit+"^{commit}"); err != nil {
			return nil, fmt.Errorf("commit %s: %w", co.Commit, ErrRefNotFound)
		}
	case co.Tag != "":
		if _, err := w.Git(ctx, "checkout", "-q", "--detach", "refs/tags/"+co.Tag+"^{commit}"); err != nil {
			return nil, fmt.Errorf("tag %s: %w", co.Tag, ErrRefNotFound)
		}
	default:
		branch := co.Branch
		if branch == "" {
			head, err := w.Git(ctx, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")
			if err != nil {
				return nil, fmt.Errorf("remote has no default branch: %w", ErrRefNotFound)
			}
			branch = strings.TrimPrefix(head, "origin/")
		}
		if _, err := w.Git(ctx, "rev-parse", "-q", "--verify", "refs/remotes/origin/"+branch+"^{commit}"); err != nil {
			if !co.Create {
				return nil, fmt.Errorf("branch %s: %w", branch, ErrRefNotFound)
			}
			// git 2.39 has no "worktree add --orphan"; an orphan checkout in a fresh
			// --no-checkout clone leaves an empty index and tree.
			if _, err := w.Git(ctx, "checkout", "-q", "--orphan", branch); err != nil {
				return nil, err
			}
			if _, err := w.Git(ctx, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "."); err != nil {
				return nil, err
			}
			return w, nil
		}
		if _, err := w.Git(ctx, "checkout", "-q", "-B", branch, "refs/remotes/origin/"+branch); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Open returns the Worktree at dir (made earlier by Clone).
func Open(ctx context.Context, dir string, auth *Auth, id *Identity) (*Worktree, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		return nil, fmt.Errorf("not a git work tree (run git-clone first)")
	}
	w := &Worktree{Dir: dir, Auth: auth, ID: id}
	url, err := w.Git(ctx, "remote", "get-url", "origin")
	if err != nil {
		return nil, err
	}
	w.URL = url
	if id == nil {
		name, _ := w.Git(ctx, "config", "--get", "user.name")
		email, _ := w.Git(ctx, "config", "--get", "user.email")
		if name != "" || email != "" {
			w.ID = &Identity{Name: name, Email: email}
		}
	}
	return w, nil
}

// Git runs a git command in the work tree.
func (w *Worktree) Git(ctx context.Context, args ...string) (string, error) {
	return run(ctx, w.Dir, w.Auth, w.ID, args...)
}

// Head returns the commit HEAD points at, or "" on an unborn branch.
func (w *Worktree) Head(ctx context.Context) string {
	out, err := w.Git(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}")
	if err != nil {
		return ""
	}
	return out
}

// Branch returns the current branch name, or "" when detached.
func (w *Worktree) Branch(ctx context.Context) string {
	out, err := w.Git(ctx, "symbolic-ref", "-q", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return out
}

// CommitAll stages every change and commits it. It returns the new HEAD and whether a
// commit was made; with nothing to commit it returns the current HEAD and false.
func (w *Worktree) CommitAll(ctx context.Context, message string) (string, bool, error) {
	if _, err := w.Git(ctx, "add", "-A"); err != nil {
		return "", false, err
	}
	status, err := w.Git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", false, err
	}
	if status == "" && w.Head(ctx) != "" {
		return w.Head(ctx), false, nil
	}
	if status == "" {
		// Unborn branch and empty tree: nothing to record.
		return "", false, nil
	}
	if _, err := w.Git(ctx, "commit", "-q", "--no-verify", "-m", message); err != nil {
		return "", false, err
	}
	return w.Head(ctx), true, nil
}
