package promotion

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// SecurePath resolves p, a path from a step's config field, inside root. It rejects
// absolute paths, ".." elements (also percent-encoded), any ".git" element (in any
// case, before and after symlinks are resolved: Git runs programs its config names, so
// no step may read or write a repository's own files) and symlinks that lead outside
// root, loop or dangle. Errors name the field and the config value, never host paths.
// The returned path may not exist yet (for outputs); its existing ancestors are checked.
func SecurePath(root, field, p string) (string, error) {
	return securePath(root, field, p, true)
}

// SecurePathNoFollow is SecurePath for steps that act on a path itself rather than on
// what it points to (delete): every ancestor is resolved and checked as in SecurePath,
// but a symlink as the last element is returned as the link, wherever it points.
func SecurePathNoFollow(root, field, p string) (string, error) {
	return securePath(root, field, p, false)
}

// PathNoFollow resolves a config path inside the work dir without following a final
// symlink; see SecurePathNoFollow.
func (sc *StepContext) PathNoFollow(field, p string) (string, error) {
	return SecurePathNoFollow(sc.WorkDir, field, p)
}

// IsGitDirName reports whether a path element names a Git directory (".git" in any
// case), which steps never read, write or copy.
func IsGitDirName(el string) bool { return strings.EqualFold(el, ".git") }

func securePath(root, field, p string, followLast bool) (string, error) {
	bad := func(why string) error {
		return Terminal(fmt.Errorf("%s %q: %s", field, p, why))
	}
	const inGit = "must not be inside a .git directory"
	if strings.ContainsRune(p, 0) {
		return "", bad("contains a NUL byte")
	}
	candidates := []string{p}
	if dec, err := url.PathUnescape(p); err == nil && dec != p {
		candidates = append(candidates, dec)
	}
	for _, c := range candidates {
		if filepath.IsAbs(c) || strings.HasPrefix(c, "/") || strings.HasPrefix(c, `\`) {
			return "", bad("must be relative to the work directory")
		}
		for _, el := range strings.FieldsFunc(c, func(r rune) bool { return r == '/' || r == '\\' }) {
			if el == ".." {
				return "", bad("must not contain '..'")
			}
			if IsGitDirName(el) {
				return "", bad(inGit)
			}
		}
	}
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("%s: work directory is missing", field)
	}
	full := filepath.Join(rootReal, filepath.Clean("/"+p))
	// Walk each existing element, resolving symlinks, and require the result to stay
	// inside and out of any .git directory.
	rel, _ := filepath.Rel(rootReal, full)
	cur := rootReal
	if rel == "." {
		return rootReal, nil
	}
	elems := strings.Split(rel, string(filepath.Separator))
	for i, el := range elems {
		next := filepath.Join(cur, el)
		fi, err := os.Lstat(next)
		if errors.Is(err, os.ErrNotExist) {
			return filepath.Join(append([]string{next}, elems[i+1:]...)...), nil
		}
		if err != nil {
			return "", bad("cannot be inspected")
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if !followLast && i == len(elems)-1 {
				return next, nil
			}
			real, err := filepath.EvalSymlinks(next)
			if err != nil {
				return "", bad("is or passes through a dangling or looping symlink")
			}
			if !within(rootReal, real) {
				return "", bad("is or passes through a symlink that leads outside the work directory")
			}
			if inGitDir(rootReal, real) {
				return "", bad(inGit + " (through a symlink)")
			}
			next = real
		}
		cur = next
	}
	return cur, nil
}

// inGitDir reports whether p, inside root, has a .git element below root.
func inGitDir(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return true
	}
	for _, el := range strings.Split(rel, string(filepath.Separator)) {
		if IsGitDirName(el) {
			return true
		}
	}
	return false
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// RelPath renders an absolute path under root as the relative path users wrote, so
// that errors never show host paths.
func RelPath(root, p string) string {
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		rootReal = root
	}
	if rel, err := filepath.Rel(rootReal, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return filepath.Base(p)
}
