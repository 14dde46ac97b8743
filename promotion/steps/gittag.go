package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitTagConfig struct {
	Path    string `json:"path"`
	Tag     string `json:"tag"`
	Message string `json:"message"`
	Force   bool   `json:"force,omitempty"`
}

// Validate checks what the Kargo schema requires beyond presence, and that the tag
// cannot be read by git as an option.
func (c *gitTagConfig) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("path must not be empty")
	case c.Tag == "":
		return errors.New("tag must not be empty")
	case strings.HasPrefix(c.Tag, "-"):
		return fmt.Errorf("tag %q must not start with '-'", c.Tag)
	case c.Message == "":
		return errors.New("message must not be empty")
	}
	return nil
}

// gitTag creates an annotated tag at the work tree's HEAD. The tag stays local until a
// git-push step pushes it. An existing tag is an error unless force is set, because
// moving a tag others may have fetched is rarely what anyone wants.
func gitTag(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitTagConfig
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
	ref := "refs/tags/" + cfg.Tag
	if _, err := w.Git(ctx, "check-ref-format", ref); err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("tag %q is not a valid Git tag name", cfg.Tag))
	}
	head := w.Head(ctx)
	if head == "" {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q has no commit to tag yet", cfg.Path))
	}
	if existing, err := w.Git(ctx, "rev-parse", "-q", "--verify", ref); err == nil && existing != "" && !cfg.Force {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("tag %q already exists in %s; set force to move it", cfg.Tag, cfg.Path))
	}
	args := []string{"tag", "-a", "-m", cfg.Message}
	if cfg.Force {
		args = append(args, "-f")
	}
	if _, err := w.Git(ctx, append(args, cfg.Tag, head)...); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating tag %q in %s: %w", cfg.Tag, cfg.Path, err)
	}
	return promotion.StepResult{Output: map[string]any{"commit": head}}, nil
}
