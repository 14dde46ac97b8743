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
// absolute paths, ".." elements (also percent-encoded) and symlinks that lead outside
// root, loop or dangle. Errors name the field and the config value, never host paths.
// The returned path may not exist yet (for outputs); its existing ancestors are checked.
func SecurePath(root, field, p string) (string, error) {
	bad := func(why string) error {
		return Terminal(fmt.Errorf("%s %q: %s", field, p, why))
	}
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
		}
	}
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("%s: work directory is missing", field)
	}
	full := filepath.Join(rootReal, filepath.Clean("/"+p))
	// Walk each existing element, resolving symlinks, and require the result to stay inside.
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
			real, err := filepath.EvalSymlinks(next)
			if err != nil {
				return "", bad("is or passes through a dangling or looping symlink")
			}
			if !within(rootReal, real) {
				return "", bad("is or passes through a symlink that leads outside the work directory")
			}
			next = real
		}
		cur = next
	}
	return cur, nil
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
