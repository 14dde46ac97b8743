package gitx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// maxPooled is how many idle work trees are kept per cached repository.
const maxPooled = 4

// maxTreeUses retires a pooled tree after this many Promotions, so objects of local
// commits that were pushed (or not) do not pile up in it.
const maxTreeUses = 50

// treePool keeps checked-out work trees of finished Promotions. Writing thousands of
// files is what makes a fresh checkout slow on a busy disk; a pooled tree is moved into
// the next Promotion's work dir and `git reset --hard` + `git clean` rewrite only what
// differs.
type treePool struct {
	mu      sync.Mutex
	idle    map[string][]string // cache dir → idle tree dirs
	out     map[string]string   // checked-out tree dir → cache dir
	uses    map[string]int      // tree dir (idle name) → uses so far
	cleaned bool
	seq     atomic.Int64
}

func (c *Cache) pool() *treePool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trees == nil {
		c.trees = &treePool{idle: map[string][]string{}, out: map[string]string{}, uses: map[string]int{}}
	}
	return c.trees
}

// take moves an idle tree of cacheDir to dir; it reports false when none is idle.
func (c *Cache) take(cacheDir, dir string) (int, bool) {
	p := c.pool()
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[cacheDir]
	for len(list) > 0 {
		src := list[len(list)-1]
		list = list[:len(list)-1]
		p.idle[cacheDir] = list
		uses := p.uses[src]
		delete(p.uses, src)
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			continue
		}
		if err := os.Rename(src, dir); err != nil {
			_ = os.RemoveAll(src)
			continue
		}
		return uses, true
	}
	return 0, false
}

// track remembers that dir is a work tree of cacheDir, so Reclaim can pool it.
func (c *Cache) track(cacheDir, dir string, uses int) {
	p := c.pool()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out[dir] = cacheDir
	p.uses[dir] = uses
}

// Reclaim moves the work trees made under root (a finished Promotion's work dir) back
// into the pool, or forgets them. Call it before removing root.
func (c *Cache) Reclaim(root string) {
	p := c.pool()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cleaned {
		// Trees left by an earlier process are unknown to this one.
		_ = os.RemoveAll(filepath.Join(c.Root, "trees"))
		p.cleaned = true
	}
	prefix := filepath.Clean(root) + string(filepath.Separator)
	for dir, cacheDir := range p.out {
		if !strings.HasPrefix(dir, prefix) && dir != filepath.Clean(root) {
			continue
		}
		delete(p.out, dir)
		uses := p.uses[dir] + 1
		delete(p.uses, dir)
		if len(p.idle[cacheDir]) >= maxPooled || uses >= maxTreeUses {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, ".git", "HEAD")); err != nil {
			continue
		}
		dst := filepath.Join(c.Root, "trees", fmt.Sprintf("t%d", p.seq.Add(1)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			continue
		}
		if err := os.Rename(dir, dst); err != nil {
			continue
		}
		p.idle[cacheDir] = append(p.idle[cacheDir], dst)
		p.uses[dst] = uses
	}
}
