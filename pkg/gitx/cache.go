package gitx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cache holds one bare repository per remote URL and credentials under Root. Fetches
// of one repository are serialised and coalesced: a caller waiting for the lock skips
// its own fetch when one that started after it asked has completed.
//
// A repository is keyed by the URL and by the credentials it is fetched with
// (anonymous is a key of its own), so objects one project fetched with its credentials
// are never served to a caller with other credentials, not even by the coalescing
// above; a project promoting again with the same credentials finds its copy warm.
type Cache struct {
	Root string
	// Policy decides which remote URLs are allowed; every URL is checked before use.
	Policy RemotePolicy

	mu    sync.Mutex
	repos map[string]*cachedRepo
	trees *treePool
}

type cachedRepo struct {
	mu         sync.Mutex
	dir        string
	inited     bool
	lastStart  time.Time
	lastErrNil bool
	// defaultBranch is the remote HEAD, learnt once.
	defaultBranch string
}

// New returns a cache rooted at dir (created on first use).
func New(root string) *Cache { return &Cache{Root: root, repos: map[string]*cachedRepo{}} }

// repoKey identifies the cached copy of url fetched with auth. The credentials are
// hashed with the URL, so the key (and the directory name made from it) shows neither.
func repoKey(url string, auth *Auth) string {
	h := sha256.New()
	h.Write([]byte("haul-git-cache\x00" + url + "\x00"))
	if !auth.empty() {
		h.Write([]byte("basic\x00" + auth.Username + "\x00" + auth.Password))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (c *Cache) repo(url string, auth *Auth) *cachedRepo {
	key := repoKey(url, auth)
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.repos[key]
	if !ok {
		r = &cachedRepo{dir: filepath.Join(c.Root, key+".git")}
		c.repos[key] = r
	}
	return r
}

// Fetch brings the cached copy of url up to date (all branches and tags) and returns
// the path of the bare repository.
func (c *Cache) Fetch(ctx context.Context, url string, auth *Auth) (string, error) {
	if err := c.Policy.Check("repoURL", url); err != nil {
		return "", err
	}
	asked := time.Now()
	r := c.repo(url, auth)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErrNil && r.lastStart.After(asked) {
		return r.dir, nil
	}
	if !r.inited {
		if _, err := os.Stat(filepath.Join(r.dir, "HEAD")); err != nil {
			if err := os.MkdirAll(c.Root, 0o755); err != nil {
				return "", fmt.Errorf("creating git cache: %w", err)
			}
			tmp, err := os.MkdirTemp(c.Root, "init-")
			if err != nil {
				return "", fmt.Errorf("creating git cache: %w", err)
			}
			if _, err := run(ctx, tmp, nil, nil, "init", "--bare", "-q", "."); err != nil {
				_ = os.RemoveAll(tmp)
				return "", err
			}
			if err := os.Rename(tmp, r.dir); err != nil && !os.IsExist(err) {
				_ = os.RemoveAll(tmp)
				if _, serr := os.Stat(filepath.Join(r.dir, "HEAD")); serr != nil {
					return "", fmt.Errorf("creating git cache: %w", err)
				}
			}
		}
		r.inited = true
	}
	r.lastStart = time.Now()
	r.lastErrNil = false
	if r.remoteMatches(ctx, url, auth) {
		r.lastErrNil = true
		return r.dir, nil
	}
	_, err := run(ctx, r.dir, auth, nil, "fetch", "-q", "--prune", "--no-tags", "--", url,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	if err != nil {
		return "", RedactError(fmt.Errorf("fetching %s: %w", url, err))
	}
	r.lastErrNil = true
	return r.dir, nil
}

// DefaultBranch returns the remote's default branch (its HEAD), asking the remote once
// per cache.
func (c *Cache) DefaultBranch(ctx context.Context, url string, auth *Auth) (string, error) {
	if err := c.Policy.Check("repoURL", url); err != nil {
		return "", err
	}
	r := c.repo(url, auth)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.defaultBranch != "" {
		return r.defaultBranch, nil
	}
	out, err := run(ctx, "", auth, nil, "ls-remote", "--symref", "--", url, "HEAD")
	if err != nil {
		return "", RedactError(fmt.Errorf("finding the default branch of %s: %w", url, err))
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "ref: refs/heads/"); ok {
			r.defaultBranch, _, _ = strings.Cut(rest, "\t")
			return r.defaultBranch, nil
		}
	}
	return "", fmt.Errorf("remote has no default branch: %w", ErrRefNotFound)
}
