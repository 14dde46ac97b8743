package steps

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitPushConfig struct {
	Path                 string `json:"path"`
	TargetBranch         string `json:"targetBranch,omitempty"`
	GenerateTargetBranch bool   `json:"generateTargetBranch,omitempty"`
	MaxAttempts          int    `json:"maxAttempts,omitempty"`
	Force                bool   `json:"force,omitempty"`
	// Provider names the Git host's kind (azure, bitbucket, gitea, github, gitlab)
	// for the commitURL output; it is inferred from the host name when empty.
	Provider string `json:"provider,omitempty"`
	// Tag pushes this local tag (made by git-tag) instead of a branch, as Kargo's.
	Tag string `json:"tag,omitempty"`
}

func (c *gitPushConfig) Validate() error {
	if c.TargetBranch != "" && c.GenerateTargetBranch {
		return errors.New("set only one of targetBranch and generateTargetBranch")
	}
	switch c.Provider {
	case "", "azure", "bitbucket", "gitea", "github", "gitlab":
	default:
		return fmt.Errorf("provider %q must be one of azure, bitbucket, gitea, github and gitlab", c.Provider)
	}
	if c.Tag != "" && (c.TargetBranch != "" || c.GenerateTargetBranch || c.Force) {
		return fmt.Errorf("tag %q: a tag push takes none of targetBranch, generateTargetBranch and force", c.Tag)
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 50 {
		return fmt.Errorf("maxAttempts %d is out of range 1..50", c.MaxAttempts)
	}
	return nil
}

// gitPush pushes the work tree's HEAD, integrating concurrent writers per the
// controller's push integration policy (rebase by default).
func gitPush(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitPushConfig
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
	if w.Auth, err = gitAuth(ctx, sc, w.URL); err != nil {
		return promotion.StepResult{}, err
	}
	if cfg.Tag != "" {
		return pushTag(ctx, w, cfg)
	}
	branch := cfg.TargetBranch
	force := cfg.Force
	switch {
	case cfg.GenerateTargetBranch:
		// A branch scoped to this Promotion: a replay may overwrite it safely.
		branch, force = "haul/promotion/"+sc.Promotion, true
	case branch == "":
		if branch = w.Branch(ctx); branch == "" {
			return promotion.StepResult{}, promotion.Terminal(errors.New("HEAD is detached; set targetBranch"))
		}
	}
	var policy gitx.Integration
	if sc.Services != nil {
		policy = sc.Services.PushIntegration
	}
	sha, err := w.Push(ctx, branch, gitx.PushOptions{MaxAttempts: cfg.MaxAttempts, Force: force, Integration: policy})
	if err != nil {
		// A conflict or a rebase the policy forbids needs a person: retrying
		// cannot change the outcome.
		if errors.Is(err, gitx.ErrConflict) || errors.Is(err, gitx.ErrUnsafeRebase) {
			return promotion.StepResult{}, promotion.Terminal(err)
		}
		return promotion.StepResult{}, err
	}
	gitCache(sc).NotePush(w, branch, sha)
	out := map[string]any{"commit": sha, "branch": branch}
	if u := commitURL(w.URL, cfg.Provider, sha); u != "" {
		out["commitURL"] = u
	}
	return promotion.StepResult{Output: out}, nil
}

// pushTag pushes one local tag, never moving a tag the remote already has
// differently (tags are meant to be immutable; the remote refuses the update). It
// integrates nothing: the tag names a commit that must exist as it is. Outputs are
// git-push's: the tagged commit, the current branch and the commit's URL.
func pushTag(ctx context.Context, w *gitx.Worktree, cfg gitPushConfig) (promotion.StepResult, error) {
	ref := "refs/tags/" + cfg.Tag
	commit, err := w.Git(ctx, "rev-parse", "-q", "--verify", ref+"^{commit}")
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("tag %q does not exist in %s; create it with git-tag first", cfg.Tag, cfg.Path))
	}
	if _, err := w.Git(ctx, "push", "-q", "origin", ref+":"+ref); err != nil {
		if isRejected(err) {
			return promotion.StepResult{}, promotion.Terminal(gitx.RedactError(fmt.Errorf("pushing tag %s: the remote has a different tag of that name: %w", cfg.Tag, err)))
		}
		return promotion.StepResult{}, gitx.RedactError(fmt.Errorf("pushing tag %s: %w", cfg.Tag, err))
	}
	out := map[string]any{"commit": commit, "branch": w.Branch(ctx)}
	if u := commitURL(w.URL, cfg.Provider, commit); u != "" {
		out["commitURL"] = u
	}
	return promotion.StepResult{Output: out}, nil
}

// isRejected reports whether a failed git push was refused by the remote.
func isRejected(err error) bool {
	var ce *gitx.CommandError
	return errors.As(err, &ce) && (strings.Contains(ce.Stderr, "[rejected]") || strings.Contains(ce.Stderr, "already exists"))
}

// commitURL is the web page of commit sha on the repository's host, as Kargo's Git
// providers build it, or "" when the provider is neither given nor recognisable from
// the host name. Credentials in the remote URL never reach it.
func commitURL(remote, provider, sha string) string {
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Hostname()
	if provider == "" {
		switch {
		case strings.Contains(host, "github") || strings.HasSuffix(host, "ghe.com"):
			provider = "github"
		case strings.Contains(host, "gitlab"):
			provider = "gitlab"
		case host == "bitbucket.org":
			provider = "bitbucket"
		case host == "dev.azure.com" || strings.HasSuffix(host, ".visualstudio.com"):
			provider = "azure"
		case strings.Contains(host, "gitea"):
			provider = "gitea"
		default:
			return ""
		}
	}
	path := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	base := "https://" + u.Host + path
	switch provider {
	case "github", "gitea":
		return base + "/commit/" + sha
	case "gitlab":
		return base + "/-/commit/" + sha
	case "bitbucket":
		return base + "/commits/" + sha
	case "azure":
		return "https://dev.azure.com" + strings.TrimPrefix(path, "/v3") + "/commit/" + sha
	}
	return ""
}
