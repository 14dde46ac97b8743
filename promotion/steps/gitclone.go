package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitCloneConfig struct {
	RepoURL  string             `json:"repoURL"`
	Checkout []gitCloneCheckout `json:"checkout"`
	Author   *gitAuthor         `json:"author,omitempty"`
	// InsecureSkipTLSVerify is accepted for Kargo compatibility and ignored.
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

type gitCloneCheckout struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
	Create bool   `json:"create,omitempty"`
	Path   string `json:"path"`
}

type gitAuthor struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

func (c *gitCloneConfig) Validate() error {
	if c.RepoURL == "" {
		return errors.New("repoURL must not be empty")
	}
	if len(c.Checkout) == 0 {
		return errors.New("checkout needs at least one entry")
	}
	for i, co := range c.Checkout {
		n := 0
		for _, s := range []string{co.Branch, co.Tag, co.Commit} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			return fmt.Errorf("checkout[%d]: set at most one of branch, tag and commit", i)
		}
		if co.Create && co.Branch == "" {
			return fmt.Errorf("checkout[%d]: create needs branch", i)
		}
	}
	return nil
}

// gitClone checks out one or more refs of a repository from the shared cache.
func gitClone(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitCloneConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	cache := gitCache(sc)
	// Only network remotes: a file:// URL or a host path would read repositories off
	// the controller's disk, including other projects' copies in the Git cache.
	if err := cache.Policy.Check("repoURL", cfg.RepoURL); err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	auth, err := gitAuth(ctx, sc, cfg.RepoURL)
	if err != nil {
		return promotion.StepResult{}, err
	}
	var id *gitx.Identity
	if cfg.Author != nil {
		id = &gitx.Identity{Name: cfg.Author.Name, Email: cfg.Author.Email}
		if id.Name == "" {
			id.Name = gitx.DefaultIdentity.Name
		}
		if id.Email == "" {
			id.Email = gitx.DefaultIdentity.Email
		}
	}
	cacheDir, err := cache.Fetch(ctx, cfg.RepoURL, auth)
	if err != nil {
		return promotion.StepResult{}, err
	}
	commits := map[string]any{}
	for i, co := range cfg.Checkout {
		dir, err := sc.Path(fmt.Sprintf("checkout[%d].path", i), co.Path)
		if err != nil {
			return promotion.StepResult{}, err
		}
		w, err := cache.Checkout(ctx, cacheDir, cfg.RepoURL, auth, id, dir, gitx.Checkout{
			Branch: co.Branch, Tag: co.Tag, Commit: co.Commit, Create: co.Create, Scope: sc.Project,
		})
		if err != nil {
			if errors.Is(err, gitx.ErrRefNotFound) {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("checkout[%d]: %w", i, err))
			}
			return promotion.StepResult{}, fmt.Errorf("checkout[%d]: %w", i, err)
		}
		commits[co.Path] = w.Head(ctx)
	}
	return promotion.StepResult{Output: map[string]any{"commits": commits}}, nil
}
