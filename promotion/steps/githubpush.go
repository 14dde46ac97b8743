package steps

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/haul-dev/haul/pkg/forge"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// githubPushMaxCommits bounds the commits one github-push replays: GitHub's compare
// API lists at most 250, and a Promotion pushes a handful.
const githubPushMaxCommits = 250

type githubPushConfig struct {
	Path                  string `json:"path"`
	TargetBranch          string `json:"targetBranch,omitempty"`
	GenerateTargetBranch  bool   `json:"generateTargetBranch,omitempty"`
	Force                 bool   `json:"force,omitempty"`
	MaxAttempts           int    `json:"maxAttempts,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
}

func (c *githubPushConfig) Validate() error {
	if c.TargetBranch != "" && c.GenerateTargetBranch {
		return errors.New("set only one of targetBranch and generateTargetBranch")
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 50 {
		return fmt.Errorf("maxAttempts %d is out of range 1..50", c.MaxAttempts)
	}
	return nil
}

// errGitHubRetry marks an attempt that integrating the remote branch again may fix.
var errGitHubRetry = errors.New("the remote branch moved")

// githubPush is git-push through GitHub's REST API, as Kargo's github-push: the work
// tree's commits go to a staging ref by git, are replayed one by one with the Git
// data API, and the target branch is moved to the replayed head. Commits Haul made
// (committer = the work tree's identity) are replayed without author and committer,
// so GitHub attributes them to the token's account and signs them (verified); the
// original author, when someone else, is kept as a Co-authored-by trailer. Other
// commits keep their author and committer. When the remote branch moved, its commits
// are integrated by rebase and the push is tried again, up to maxAttempts.
func githubPush(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg githubPushConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	w, err := gitx.Open(ctx, dir, nil, nil)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q: %w", cfg.Path, err))
	}
	shown := gitx.Redact(w.URL)
	if w.Auth, err = gitAuth(ctx, sc, w.URL); err != nil {
		return promotion.StepResult{}, err
	}
	if w.Auth == nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("no git credentials found for %s; github-push needs a token (a Secret labelled haul.dev/cred-type=git whose password is a GitHub token)", shown))
	}
	if w.Auth.Password == "" {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("the git credentials for %s have no password; github-push uses the password as the GitHub API token", shown))
	}
	gh, err := forge.NewGitHubGit(forge.Options{
		RepoURL: w.URL, Username: w.Auth.Username, Password: w.Auth.Password,
		InsecureSkipTLSVerify: cfg.InsecureSkipTLSVerify, HTTPClient: sc.HTTPClient(time.Minute),
	})
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	source := w.Branch(ctx)
	branch, force := cfg.TargetBranch, cfg.Force
	switch {
	case cfg.GenerateTargetBranch:
		// Scoped to this Promotion, as git-push's: a replay may overwrite it safely.
		branch, force = "haul/promotion/"+sc.Promotion, true
	case branch == "":
		if branch = source; branch == "" {
			return promotion.StepResult{}, promotion.Terminal(errors.New("HEAD is detached; set targetBranch"))
		}
	}
	staging := "refs/haul/staging/" + sc.Promotion
	defer func() {
		// The staging ref only carried the objects; losing it changes nothing.
		_ = gh.DeleteRef(context.WithoutCancel(ctx), staging)
	}()

	attempts := cfg.MaxAttempts
	if attempts == 0 {
		attempts = 10
	}
	delay := 200 * time.Millisecond
	var head string
	for attempt := 1; ; attempt++ {
		head, err = githubPushOnce(ctx, w, gh, branch, source, staging, force)
		if err == nil {
			break
		}
		if !errors.Is(err, errGitHubRetry) && !errors.Is(err, forge.ErrNotFastForward) {
			if errors.Is(err, gitx.ErrConflict) || errors.Is(err, forge.ErrUnauthorized) || errors.Is(err, forge.ErrNotFound) {
				return promotion.StepResult{}, promotion.Terminal(err)
			}
			return promotion.StepResult{}, err
		}
		if attempt >= attempts {
			return promotion.StepResult{}, fmt.Errorf("pushing to %s of %s: gave up after %d attempts: %w", branch, gh.Repo(), attempts, err)
		}
		select {
		case <-ctx.Done():
			return promotion.StepResult{}, ctx.Err()
		case <-time.After(delay/2 + time.Duration(rand.Int64N(int64(delay)))):
		}
		delay = min(delay*2, 5*time.Second)
	}
	// The replayed commits have new IDs: move the local branch onto them (the trees
	// are the same) so that later steps see what the remote has.
	if _, err := w.Git(ctx, "fetch", "-q", "origin", "refs/heads/"+branch); err != nil {
		return promotion.StepResult{}, gitx.RedactError(fmt.Errorf("fetching %s after the push: %w", branch, err))
	}
	if _, err := w.Git(ctx, "reset", "-q", "--hard", "FETCH_HEAD"); err != nil {
		return promotion.StepResult{}, gitx.RedactError(fmt.Errorf("syncing the work tree with %s: %w", branch, err))
	}
	out := map[string]any{"commit": head, "branch": branch}
	if u := commitURL(w.URL, forge.ProviderGitHub, head); u != "" {
		out["commitURL"] = u
	}
	return promotion.StepResult{Output: out}, nil
}

// githubPushOnce makes one attempt and returns the new head of branch.
func githubPushOnce(ctx context.Context, w *gitx.Worktree, gh *forge.GitHubGit, branch, source, staging string, force bool) (string, error) {
	target, exists, err := gh.Branch(ctx, branch)
	if err != nil {
		return "", err
	}
	if exists && !force {
		// Integrate what others pushed since the clone.
		if _, err := w.Git(ctx, "fetch", "-q", "origin", "refs/heads/"+branch); err != nil {
			return "", gitx.RedactError(fmt.Errorf("fetching %s to integrate: %w", branch, err))
		}
		if _, err := w.Git(ctx, "rebase", "-q", "FETCH_HEAD"); err != nil {
			_, _ = w.Git(ctx, "rebase", "--abort")
			return "", fmt.Errorf("branch %s: %w", branch, gitx.ErrConflict)
		}
	}
	head := w.Head(ctx)
	if head == "" {
		return "", promotion.Terminal(errors.New("nothing to push: the branch has no commits"))
	}
	if _, err := w.Git(ctx, "push", "-q", "--force", "origin", "HEAD:"+staging); err != nil {
		return "", gitx.RedactError(fmt.Errorf("pushing the commits to %s: %w", staging, err))
	}
	base := target
	if !exists {
		// A new branch starts from the remote branch the work tree was cloned from.
		var found bool
		if source == "" || source == branch {
			return replayAll(ctx, w, gh, branch, head)
		}
		if base, found, err = gh.Branch(ctx, source); err != nil {
			return "", err
		}
		if !found {
			return replayAll(ctx, w, gh, branch, head)
		}
	}
	cmp, err := gh.Compare(ctx, base, head)
	if err != nil {
		return "", err
	}
	switch {
	case cmp.Status == "identical":
		if !exists {
			return head, gh.SetBranch(ctx, branch, head, true, false)
		}
		return head, nil
	case !exists || cmp.Status == "ahead" || force && (cmp.Status == "behind" || cmp.Status == "diverged"):
		// A new branch takes the commits since it parted from the source branch.
	case cmp.Status == "behind" || cmp.Status == "diverged":
		return "", fmt.Errorf("%s is %s %s: %w", head, cmp.Status, branch, errGitHubRetry)
	default:
		return "", promotion.Terminal(fmt.Errorf("comparing %s with %s: unexpected status %q", head, branch, cmp.Status))
	}
	if cmp.Total > len(cmp.Commits) || cmp.Total > githubPushMaxCommits {
		return "", promotion.Terminal(fmt.Errorf("%d commits to replay onto %s; github-push replays at most %d", cmp.Total, branch, githubPushMaxCommits))
	}
	newHead, err := replay(ctx, w, gh, cmp.Commits, cmp.MergeBase)
	if err != nil {
		return "", err
	}
	return newHead, gh.SetBranch(ctx, branch, newHead, !exists, force)
}

// replayAll replays the whole history of head onto a new branch (a branch created
// from nothing, such as an orphan stage branch). Without a base on GitHub, the list
// comes from the work tree.
func replayAll(ctx context.Context, w *gitx.Worktree, gh *forge.GitHubGit, branch, head string) (string, error) {
	out, err := w.Git(ctx, "rev-list", "--reverse", "--topo-order", "--max-count=251", head)
	if err != nil {
		return "", gitx.RedactError(fmt.Errorf("listing the commits to push: %w", err))
	}
	shas := strings.Fields(out)
	if len(shas) > githubPushMaxCommits {
		return "", promotion.Terminal(fmt.Errorf("more than %d commits to replay onto the new branch %s", githubPushMaxCommits, branch))
	}
	var commits []forge.Commit
	for _, sha := range shas {
		c, err := localCommit(ctx, w, sha)
		if err != nil {
			return "", err
		}
		commits = append(commits, c)
	}
	newHead, err := replay(ctx, w, gh, commits, "")
	if err != nil {
		return "", err
	}
	return newHead, gh.SetBranch(ctx, branch, newHead, true, false)
}

// localCommit reads one commit of the work tree.
func localCommit(ctx context.Context, w *gitx.Worktree, sha string) (forge.Commit, error) {
	out, err := w.Git(ctx, "show", "-s", "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
	if err != nil {
		return forge.Commit{}, gitx.RedactError(fmt.Errorf("reading commit %s: %w", sha, err))
	}
	f := strings.SplitN(out, "\x00", 9)
	if len(f) != 9 {
		return forge.Commit{}, fmt.Errorf("reading commit %s: unexpected format", sha)
	}
	at, _ := time.Parse(time.RFC3339, f[4])
	ct, _ := time.Parse(time.RFC3339, f[7])
	return forge.Commit{
		SHA: sha, Tree: f[0], Parents: strings.Fields(f[1]), Message: f[8],
		Author:    forge.Person{Name: f[2], Email: f[3], When: at},
		Committer: forge.Person{Name: f[5], Email: f[6], When: ct},
	}, nil
}

// replay creates commits on GitHub, oldest first, each with the tree of the original
// and its parents mapped onto the replayed ones (base for the first; a merge keeps
// all its parents), and returns the last one.
func replay(ctx context.Context, w *gitx.Worktree, gh *forge.GitHubGit, commits []forge.Commit, base string) (string, error) {
	id := gitx.DefaultIdentity
	if w.ID != nil {
		id = *w.ID
	}
	mapped := map[string]string{}
	last := base
	for _, c := range commits {
		var parents []string
		switch {
		case len(c.Parents) > 1:
			for _, p := range c.Parents {
				if m, ok := mapped[p]; ok {
					p = m
				}
				parents = append(parents, p)
			}
		case last != "":
			parents = []string{last}
		}
		msg, author, committer := c.Message, &c.Author, &c.Committer
		if c.Committer.Name == id.Name && c.Committer.Email == id.Email {
			if c.Author.Email != id.Email {
				msg = strings.TrimRight(msg, "\n") + fmt.Sprintf("\n\nCo-authored-by: %s <%s>", c.Author.Name, c.Author.Email)
			}
			author, committer = nil, nil
		}
		sha, err := gh.CreateCommit(ctx, c.Tree, msg, parents, author, committer)
		if err != nil {
			return "", err
		}
		mapped[c.SHA] = sha
		last = sha
	}
	return last, nil
}
