package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitPushConfig struct {
	Path                 string `json:"path"`
	TargetBranch         string `json:"targetBranch,omitempty"`
	GenerateTargetBranch bool   `json:"generateTargetBranch,omitempty"`
	MaxAttempts          int    `json:"maxAttempts,omitempty"`
	Force                bool   `json:"force,omitempty"`
}

func (c *gitPushConfig) Validate() error {
	if c.TargetBranch != "" && c.GenerateTargetBranch {
		return errors.New("set only one of targetBranch and generateTargetBranch")
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 50 {
		return fmt.Errorf("maxAttempts %d is out of range 1..50", c.MaxAttempts)
	}
	return nil
}

// gitPush pushes the work tree's HEAD, integrating concurrent writers by rebasing.
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
	sha, err := w.Push(ctx, branch, gitx.PushOptions{MaxAttempts: cfg.MaxAttempts, Force: force})
	if err != nil {
		if errors.Is(err, gitx.ErrConflict) {
			return promotion.StepResult{}, promotion.Terminal(err)
		}
		return promotion.StepResult{}, err
	}
	gitCache(sc).NotePush(w, branch, sha)
	return promotion.StepResult{Output: map[string]any{"commit": sha, "branch": branch}}, nil
}
