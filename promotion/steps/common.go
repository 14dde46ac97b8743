package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// MaxFileSize caps files that steps read into memory (YAML, JSON, kustomizations).
const MaxFileSize = 8 << 20

var (
	fallbackCacheOnce sync.Once
	fallbackCache     *gitx.Cache
)

// gitCache is the shared cache from Services, or a process-wide one in the temp dir.
func gitCache(sc *promotion.StepContext) *gitx.Cache {
	if sc.Services != nil && sc.Services.Git != nil {
		return sc.Services.Git
	}
	fallbackCacheOnce.Do(func() {
		fallbackCache = gitx.New(filepath.Join(os.TempDir(), "haul-git-cache"))
	})
	return fallbackCache
}

// gitAuth looks up git credentials for url.
func gitAuth(ctx context.Context, sc *promotion.StepContext, url string) (*gitx.Auth, error) {
	if sc.Services == nil || sc.Services.Credentials == nil {
		return nil, nil
	}
	u, p, ok, err := sc.Services.Credentials(ctx, "git", url)
	if err != nil {
		return nil, fmt.Errorf("looking up git credentials for %s: %w", gitx.Redact(url), err)
	}
	if !ok {
		return nil, nil
	}
	return &gitx.Auth{Username: u, Password: p}, nil
}

// readCapped reads a file no larger than MaxFileSize; errors name rel, not the host path.
func readCapped(path, rel string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, promotion.Terminal(fmt.Errorf("%s does not exist", rel))
		}
		return nil, fmt.Errorf("reading %s: %w", rel, stripPath(err))
	}
	if fi.IsDir() {
		return nil, promotion.Terminal(fmt.Errorf("%s is a directory", rel))
	}
	if fi.Size() > MaxFileSize {
		return nil, promotion.Terminal(fmt.Errorf("%s is %d bytes, larger than the limit of %d", rel, fi.Size(), MaxFileSize))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, stripPath(err))
	}
	return b, nil
}

// stripPath drops the host path from *PathError and friends.
func stripPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}

// writeFile writes data atomically-ish, creating parent directories.
func writeFile(path, rel string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating directory for %s: %w", rel, stripPath(err))
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSymlink != 0 {
			// SecurePath already resolved in-tree links; never write through one.
			return promotion.Terminal(fmt.Errorf("%s is a symlink; refusing to write through it", rel))
		}
		mode = fi.Mode().Perm()
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", rel, stripPath(err))
	}
	return nil
}
