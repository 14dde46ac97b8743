package steps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/haul-dev/haul/promotion"
)

type copyConfig struct {
	InPath  string `json:"inPath"`
	OutPath string `json:"outPath"`
	// Ignore holds .gitignore-style patterns, one a line, of files not to copy;
	// they are matched relative to inPath (its directory when inPath is a file).
	Ignore string `json:"ignore,omitempty"`
}

type deleteConfig struct {
	Path  string   `json:"path,omitempty"`
	Paths []string `json:"paths,omitempty"`
	// PathsAreGlobs makes path and paths doublestar patterns ("**/*.bak").
	PathsAreGlobs bool `json:"pathsAreGlobs,omitempty"`
	// Strict fails the step when a path does not exist or a pattern matches nothing.
	Strict bool `json:"strict,omitempty"`
}

func (c *deleteConfig) Validate() error {
	if (c.Path == "") == (len(c.Paths) == 0) {
		return errors.New("set exactly one of path and paths")
	}
	for i, p := range c.Paths {
		if p == "" {
			return fmt.Errorf("paths[%d] must not be empty", i)
		}
	}
	return nil
}

type fileWriteConfig struct {
	Path     string `json:"path"`
	Contents string `json:"contents"`
	// Permissions is an octal mode such as "0644"; 0600 when empty.
	Permissions string `json:"permissions,omitempty"`
	// Overwrite allows replacing an existing file whose contents differ.
	Overwrite bool `json:"overwrite,omitempty"`
}

// defaultFileWriteMode is Kargo's default for file-write.
const defaultFileWriteMode os.FileMode = 0o600

func (c *fileWriteConfig) Validate() error {
	_, err := c.mode()
	return err
}

// mode parses Permissions, refusing what Kargo refuses: anything but a four-digit
// octal mode, special bits, executable bits and world-writable files.
func (c *fileWriteConfig) mode() (os.FileMode, error) {
	if c.Permissions == "" {
		return defaultFileWriteMode, nil
	}
	if len(c.Permissions) != 4 || c.Permissions[0] != '0' {
		return 0, fmt.Errorf("permissions %q must be an octal file mode such as \"0644\"", c.Permissions)
	}
	v, err := strconv.ParseUint(c.Permissions, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("permissions %q must be an octal file mode such as \"0644\"", c.Permissions)
	}
	m := os.FileMode(v)
	switch {
	case m&0o111 != 0:
		return 0, fmt.Errorf("permissions %q must not include executable bits", c.Permissions)
	case m&0o002 != 0:
		return 0, fmt.Errorf("permissions %q must not be world-writable", c.Permissions)
	}
	return m, nil
}

// copyStep copies a file or directory tree within the work dir, as Kargo's copy does:
// symlinks inside the source are skipped, a .git directory is never copied, and files
// matching ignore are left out.
func copyStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg copyConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	in, err := sc.Path("inPath", cfg.InPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("inPath %q does not exist", cfg.InPath))
	}
	ignore := ignoreMatcher(cfg.Ignore)
	if !fi.IsDir() {
		if ignore.Match([]string{filepath.Base(in)}, false) {
			return promotion.StepResult{Message: fmt.Sprintf("%s matches ignore; nothing copied", cfg.InPath)}, nil
		}
		return promotion.StepResult{}, copyFile(in, out, cfg.OutPath)
	}
	root, _ := filepath.EvalSymlinks(sc.WorkDir)
	err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return stripPath(err)
		}
		rel, _ := filepath.Rel(in, p)
		// A work tree's repository (or a "gitdir:" file) is never copied.
		if promotion.IsGitDirName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if rel != "." && ignore.Match(strings.Split(rel, string(filepath.Separator)), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		shown := filepath.Join(cfg.OutPath, rel)
		// Each target is checked like outPath itself: a symlink already in the
		// destination tree must not lead the copy outside it or into a .git.
		target, err := promotion.SecurePath(root, "outPath", shown)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target, shown)
	})
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("copying %s: %w", cfg.InPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

// ignoreMatcher parses .gitignore-style lines; blank lines and # comments are skipped.
func ignoreMatcher(rules string) gitignore.Matcher {
	var ps []gitignore.Pattern
	s := bufio.NewScanner(strings.NewReader(rules))
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	return gitignore.NewMatcher(ps)
}

func copyFile(src, dst, shown string) error {
	r, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening source of %s: %w", shown, stripPath(err))
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return stripPath(err)
	}
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return promotion.Terminal(fmt.Errorf("%s is a symlink; refusing to write through it", shown))
	}
	w, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("creating %s: %w", shown, stripPath(err))
	}
	if _, err := io.Copy(w, io.LimitReader(r, 1<<30)); err != nil {
		_ = w.Close()
		return fmt.Errorf("writing %s: %w", shown, stripPath(err))
	}
	return w.Close()
}

// deleteStep removes files and directories named literally or by doublestar patterns.
// A symlink is removed as a link, never its target; nothing inside a .git directory
// is deleted (a pattern's matches there are skipped, a literal path there refused).
func deleteStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg deleteConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	field, entries := "path", []string{cfg.Path}
	if len(cfg.Paths) > 0 {
		field, entries = "paths", cfg.Paths
	}
	var targets []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			targets = append(targets, p)
		}
	}
	root, err := filepath.EvalSymlinks(sc.WorkDir)
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("%s: work directory is missing", field)
	}
	for i, entry := range entries {
		name := field
		if field == "paths" {
			name = fmt.Sprintf("paths[%d]", i)
		}
		if clean := filepath.Clean(strings.TrimPrefix(entry, "./")); clean == "." {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s %q would delete the whole work directory", name, entry))
		}
		if !cfg.PathsAreGlobs {
			// The path itself, not what a symlink there points to.
			p, err := sc.PathNoFollow(name, entry)
			if err != nil {
				return promotion.StepResult{}, err
			}
			if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
				if cfg.Strict {
					return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q does not exist", entry))
				}
				continue
			}
			add(p)
			continue
		}
		pattern := strings.TrimPrefix(entry, "./")
		if !doublestar.ValidatePattern(pattern) {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("invalid glob pattern %q: %w", entry, doublestar.ErrBadPattern))
		}
		matches, err := doublestar.Glob(os.DirFS(root), pattern, doublestar.WithNoFollow())
		if err != nil {
			return promotion.StepResult{}, fmt.Errorf("%s: invalid glob pattern %q: %w", name, entry, err)
		}
		n := 0
		for _, m := range matches {
			if m == "." || inGitPath(m) {
				continue
			}
			p, err := promotion.SecurePathNoFollow(root, name, filepath.FromSlash(m))
			if err != nil {
				return promotion.StepResult{}, err
			}
			n++
			add(p)
		}
		if n == 0 && cfg.Strict {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("no paths matched pattern %q", entry))
		}
	}
	for _, p := range targets {
		// An earlier entry (a parent directory) may have removed it already.
		if err := removeKeepingGit(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return promotion.StepResult{}, fmt.Errorf("deleting %s: %w", promotion.RelPath(sc.WorkDir, p), stripPath(err))
		}
	}
	return promotion.StepResult{}, nil
}

// removeKeepingGit removes p (a link as a link) except for any .git directory or
// file below it, and the directories that lead to one.
func removeKeepingGit(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return os.Remove(p)
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	kept := false
	for _, e := range entries {
		if promotion.IsGitDirName(e.Name()) {
			kept = true
			continue
		}
		if err := removeKeepingGit(filepath.Join(p, e.Name())); err != nil {
			return err
		}
		if _, err := os.Lstat(filepath.Join(p, e.Name())); err == nil {
			kept = true
		}
	}
	if kept {
		return nil
	}
	return os.Remove(p)
}

// inGitPath reports whether a slash-separated path has a .git element.
func inGitPath(p string) bool {
	for _, el := range strings.Split(p, "/") {
		if promotion.IsGitDirName(el) {
			return true
		}
	}
	return false
}

// fileWrite writes contents to a file with Kargo's defaults: mode 0600, and an
// existing file is replaced only with overwrite. Writing the same contents again (a
// replayed Promotion) succeeds either way.
func fileWrite(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg fileWriteConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	mode, _ := cfg.mode()
	if len(cfg.Contents) > MaxFileSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("contents are larger than %d bytes", MaxFileSize))
	}
	p, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q is a directory", cfg.Path))
		}
		if !cfg.Overwrite {
			if old, err := readCapped(p, cfg.Path); err != nil || !bytes.Equal(old, []byte(cfg.Contents)) {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("file %q already exists; set overwrite to true to replace it", cfg.Path))
			}
		}
	}
	if err := writeFile(p, cfg.Path, []byte(cfg.Contents)); err != nil {
		return promotion.StepResult{}, err
	}
	if err := os.Chmod(p, mode); err != nil {
		return promotion.StepResult{}, fmt.Errorf("setting permissions of %s: %w", cfg.Path, stripPath(err))
	}
	return promotion.StepResult{}, nil
}
