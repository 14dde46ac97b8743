package steps

import (
	"context"
	"fmt"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitCommitConfig struct {
	Path    string     `json:"path"`
	Message string     `json:"message,omitempty"`
	Author  *gitAuthor `json:"author,omitempty"`
}

// gitCommit commits every change in the work tree; with no change it is a no-op whose
// output is the current commit, which is what makes a replayed Promotion converge.
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
	msg := cfg.Message
	if msg == "" {
		msg = fmt.Sprintf("Promote %s to %s", sc.Freight.Name, sc.Stage)
		if sc.Freight.Alias != "" {
			msg = fmt.Sprintf("Promote %s (%s) to %s", sc.Freight.Alias, sc.Freight.Name, sc.Stage)
		}
	}
	sha, made, err := w.CommitAll(ctx, msg)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out := map[string]any{"commit": sha}
	res := promotion.StepResult{Output: out}
	if !made {
		res.Message = "nothing to commit"
	}
	return res, nil
}
