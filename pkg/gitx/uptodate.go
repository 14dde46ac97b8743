package gitx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// A `git fetch` costs a handful of processes even when nothing changed (≈ 20 ms here,
// more on a busy machine), and most fetches of a GitOps repository find only what Haul
// itself just pushed. So the cache asks the remote for its ref advertisement in-process
// and skips the fetch when every branch and tag already matches; and after a push it
// records the pushed branch (and the objects only the pushing work tree had) in the
// cache, so its own pushes do not make the next fetch necessary.

// remoteMatches reports whether the remote's branches and tags are exactly the cache's.
// Any doubt (a non-HTTP URL, an error talking to the remote) answers false, and the
// caller fetches as usual, which also reports errors in git's words.
func (r *cachedRepo) remoteMatches(ctx context.Context, url string, auth *Auth) bool {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return false
	}
	local, err := localRefs(r.dir)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, stallTimeout)
	defer cancel()
	refs, err := ListRemote(ctx, url, auth, ListOptions{})
	if err != nil {
		return false
	}
	n := 0
	for _, ref := range refs {
		name := ref.Name().String()
		if !cachedRef(name) || ref.Type() != plumbing.HashReference {
			continue
		}
		if local[name] != ref.Hash().String() {
			return false
		}
		n++
	}
	return n == len(local)
}

func cachedRef(name string) bool {
	return strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/")
}

// localRefs reads the branches and tags of a bare repository: loose ref files override
// packed-refs, as in git.
func localRefs(gitDir string) (map[string]string, error) {
	out := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(gitDir, "packed-refs")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, sha, ok := packedRef(line); ok && cachedRef(name) {
				out[name] = sha
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	root := filepath.Join(gitDir, "refs")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(gitDir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !cachedRef(name) {
			return nil
		}
		b, err := os.ReadFile(path) //nolint:gosec // G122: walks the process's own Git cache, which no user writes into
		if err != nil {
			return err
		}
		sha := strings.TrimSpace(string(b))
		if !IsObjectID(sha) {
			return fmt.Errorf("ref %s is not a hash", name)
		}
		out[name] = sha
		return nil
	})
	return out, err
}

// NotePush tells the cache that w's commit sha is now branch on the remote. The objects
// that only w has are linked into the cache and the cache's branch moved to sha, so the
// next Fetch finds the remote unchanged. It does nothing when w does not borrow from
// this cache or holds packs (objects fetched while integrating other writers), where
// a normal fetch is simpler than proving the cache complete.
func (c *Cache) NotePush(w *Worktree, branch, sha string) {
	r := c.repo(w.URL, w.Auth)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inited {
		return
	}
	gd := filepath.Join(w.Dir, ".git")
	alt, err := os.ReadFile(filepath.Join(gd, "objects/info/alternates"))
	if err != nil {
		return
	}
	cacheObjects, err := filepath.Abs(filepath.Join(r.dir, "objects"))
	if err != nil || strings.TrimSpace(string(alt)) != cacheObjects {
		return
	}
	if hasPacks(gd) {
		return
	}
	own, err := looseClosure(gd, sha)
	if err != nil {
		return
	}
	for _, h := range own {
		rel := filepath.Join(h[:2], h[2:])
		if err := linkObject(filepath.Join(gd, "objects", rel), filepath.Join(cacheObjects, rel)); err != nil {
			return
		}
	}
	// The work tree now finds them through its alternates; dropping its own copies
	// keeps a pooled tree from carrying (and re-sending) every earlier push.
	for _, h := range own {
		_ = os.Remove(filepath.Join(gd, "objects", h[:2], h[2:]))
	}
	ref := filepath.Join(r.dir, "refs", "heads", filepath.FromSlash(branch))
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return
	}
	tmp := ref + ".haul-tmp"
	if err := os.WriteFile(tmp, []byte(sha+"\n"), 0o644); err != nil {
		return
	}
	if err := os.Rename(tmp, ref); err != nil {
		_ = os.Remove(tmp)
	}
}

// looseClosure lists the objects reachable from sha that are loose in gitDir, stopping
// at objects it does not hold (those are in the cache it borrows from).
func looseClosure(gitDir, sha string) ([]string, error) {
	var out []string
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{plumbing.NewHash(sha)}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		s := h.String()
		obj, err := readLoose(filepath.Join(gitDir, "objects", s[:2], s[2:]))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		switch obj.Type() {
		case plumbing.CommitObject:
			var c object.Commit
			if err := c.Decode(obj); err != nil {
				return nil, err
			}
			stack = append(stack, c.TreeHash)
			stack = append(stack, c.ParentHashes...)
		case plumbing.TreeObject:
			var t object.Tree
			if err := t.Decode(obj); err != nil {
				return nil, err
			}
			for _, e := range t.Entries {
				if e.Mode != filemode.Submodule {
					stack = append(stack, e.Hash)
				}
			}
		case plumbing.TagObject:
			var t object.Tag
			if err := t.Decode(obj); err != nil {
				return nil, err
			}
			stack = append(stack, t.Target)
		}
	}
	return out, nil
}

func readLoose(path string) (plumbing.EncodedObject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := objfile.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	t, size, err := r.Header()
	if err != nil {
		return nil, err
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	obj.SetSize(size)
	if _, err := io.Copy(obj, r); err != nil {
		return nil, err
	}
	return obj, nil
}

// linkObject puts a loose object into another object store: a hard link when both are
// on one file system, else a copy renamed into place. An object already there is left
// alone (same name, same content).
func linkObject(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "tmp-obj-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}
