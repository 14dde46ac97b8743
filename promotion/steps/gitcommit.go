package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitCommitConfig struct {
	Path string `json:"path"`
	// Message is required, as in Kargo; steps that edit files offer one as their
	// commitMessage output.
	Message string     `json:"message"`
	Author  *gitAuthor `json:"author,omitempty"`
}

func (c *gitCommitConfig) Validate() error {
	if c.Message == "" {
		return errors.New("message must not be empty")
	}
	return nil
}

// gitCommit commits every change in the work tree. With no change it is Skipped, as in
// Kargo, and its output is still the current commit, which is what makes a replayed
// Promotion converge.
func gitCommit(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitCommitConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	var id *gitx.Identity
	if cfg.Author != nil {
		id = &gitx.Identity{Name: cfg.Author.Name, Email: cfg.Author.Email}
	}
	w, err := gitx.Open(ctx, dir, nil, id)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q: %w", cfg.Path, err))
	}
	if w.ID == nil {
		// Neither this step nor the git-clone of the work tree named an author: the
		// ClusterConfig's gitClient, else Haul's own identity.
		if w.ID, err = sc.Services.ClusterGitIdentity(ctx); err != nil {
			return promotion.StepResult{}, err
		}
	}
	sha, made, err := w.CommitAll(ctx, cfg.Message)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out := map[string]any{"commit": sha}
	res := promotion.StepResult{Output: out}
	if !made {
		res.Status, res.Message = promotion.StatusSkipped, "nothing to commit"
	}
	return res, nil
}
