package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

type gitCloneConfig struct {
	RepoURL  string             `json:"repoURL"`
	Checkout []gitCloneCheckout `json:"checkout"`
	Author   *gitAuthor         `json:"author,omitempty"`
	// InsecureSkipTLSVerify turns off TLS certificate checks for this repository, for
	// the clone and for later steps on the work tree (git-push, git-tag's push).
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
	// RecurseSubmodules is Kargo's; Haul refuses it rather than clone submodules from
	// URLs the repository names.
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`
	// Blobless is accepted for Kargo compatibility; the shared cache already
	// fetches each object once.
	Blobless bool `json:"blobless,omitempty"`
}

type gitCloneCheckout struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
	Create bool   `json:"create,omitempty"`
	Path   string `json:"path"`
	// As keys this checkout in the commits output instead of its path.
	As string `json:"as,omitempty"`
	// Sparse limits the work tree to these directories (cone mode).
	Sparse []string `json:"sparse,omitempty"`
}

type gitAuthor struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// SigningKey is Kargo's GPG key; Haul does not sign commits and refuses it
	// rather than push unsigned commits a user asked to sign.
	SigningKey string `json:"signingKey,omitempty"`
}

func (c *gitCloneConfig) Validate() error {
	if c.RepoURL == "" {
		return errors.New("repoURL must not be empty")
	}
	if len(c.Checkout) == 0 {
		return errors.New("checkout needs at least one entry")
	}
	if c.RecurseSubmodules {
		return errors.New("recurseSubmodules is not supported: Haul does not clone submodules")
	}
	if c.Author != nil && c.Author.SigningKey != "" {
		return errors.New("author.signingKey is not supported: Haul does not sign commits")
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
		for j, d := range co.Sparse {
			if err := checkSparseDir(d); err != nil {
				return fmt.Errorf("checkout[%d].sparse[%d] %q: %w", i, j, d, err)
			}
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
	if cfg.InsecureSkipTLSVerify {
		if auth == nil {
			auth = &gitx.Auth{}
		}
		auth.InsecureSkipTLSVerify = true
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
	} else if id, err = sc.Services.ClusterGitIdentity(ctx); err != nil {
		// Without an author of its own the work tree commits as the ClusterConfig's
		// gitClient, as Kargo's system Git user.
		return promotion.StepResult{}, err
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
		if len(co.Sparse) > 0 {
			args := append([]string{"sparse-checkout", "set", "--cone", "--"}, co.Sparse...)
			if _, err := w.Git(ctx, args...); err != nil {
				return promotion.StepResult{}, fmt.Errorf("checkout[%d]: sparse checkout: %w", i, err)
			}
		}
		key := co.Path
		if co.As != "" {
			key = co.As
		}
		commits[key] = w.Head(ctx)
	}
	return promotion.StepResult{Output: map[string]any{"commits": commits}}, nil
}

// checkSparseDir accepts a directory relative to the repository root, as Kargo's
// sparse does: no globs, no absolute paths, nothing that climbs out.
func checkSparseDir(d string) error {
	switch {
	case d == "":
		return errors.New("must not be empty")
	case strings.HasPrefix(d, "/"):
		return errors.New("must be relative to the repository root")
	case strings.ContainsAny(d, "*?[!\\"):
		return errors.New("glob patterns are not supported")
	}
	for _, el := range strings.Split(d, "/") {
		if el == ".." || promotion.IsGitDirName(el) {
			return errors.New("must stay inside the repository")
		}
	}
	return nil
}
