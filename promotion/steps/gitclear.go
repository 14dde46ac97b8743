package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/haul-dev/haul/promotion"
)

type gitClearConfig struct {
	Path string `json:"path"`
}

// gitClear removes everything in a work tree except .git, so a render can replace it.
func gitClear(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitClearConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q is not a git work tree", cfg.Path))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("reading %s: %w", cfg.Path, stripPath(err))
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return promotion.StepResult{}, fmt.Errorf("removing %s: %w", e.Name(), stripPath(err))
		}
	}
	return promotion.StepResult{}, nil
}
