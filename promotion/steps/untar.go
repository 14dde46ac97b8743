package steps

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/haul-dev/haul/promotion"
)

type untarConfig struct {
	InPath          string `json:"inPath"`
	OutPath         string `json:"outPath"`
	StripComponents *int   `json:"stripComponents,omitempty"`
	Ignore          string `json:"ignore,omitempty"`
}

// Validate checks what the Kargo schema requires beyond presence.
func (c *untarConfig) Validate() error {
	switch {
	case c.InPath == "":
		return errors.New("inPath must not be empty")
	case c.OutPath == "":
		return errors.New("outPath must not be empty")
	case c.StripComponents != nil && *c.StripComponents < 0:
		return fmt.Errorf("stripComponents %d must not be negative", *c.StripComponents)
	}
	return nil
}

// untar extracts a tar archive, gzipped or not (told apart by its first bytes), into
// outPath, replacing what outPath held. Extraction happens in a scratch directory first,
// so a refused archive leaves outPath as it was.
//
// Regular files, directories and symlinks are extracted; hard links to a file extracted
// earlier become copies; device files, FIFOs and other types are skipped. An entry
// whose name is absolute or climbs out with "..", and a link leading outside the
// archive's root, fail the step: such an archive is hostile, not merely odd. Entries in
// a .git directory are skipped. Sizes are capped (see tarMaxTotal).
func untar(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg untarConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	in, err := sc.Path("inPath", cfg.InPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if filepath.Clean(cfg.OutPath) == "." {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q would replace the whole work directory", cfg.OutPath))
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q is a file, not a directory", cfg.OutPath))
	}
	root, err := filepath.EvalSymlinks(sc.WorkDir)
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("resolving the work directory: %w", stripPath(err))
	}
	tmp, err := os.MkdirTemp(root, ".untar-")
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating a scratch directory: %w", stripPath(err))
	}
	defer os.RemoveAll(tmp)
	x := &extractor{cfg: cfg, root: tmp, ignore: archiveIgnore(cfg.Ignore)}
	if cfg.StripComponents != nil {
		x.strip = *cfg.StripComponents
	}
	if err := x.extractFile(ctx, in); err != nil {
		return promotion.StepResult{}, fmt.Errorf("extracting %s: %w", cfg.InPath, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating the parent of %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := os.RemoveAll(out); err != nil {
		return promotion.StepResult{}, fmt.Errorf("replacing %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := os.Rename(tmp, out); err != nil {
		return promotion.StepResult{}, fmt.Errorf("moving the extracted files to %s: %w", cfg.OutPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

// extractor extracts one archive into root, a fresh directory.
type extractor struct {
	cfg     untarConfig
	root    string
	strip   int
	ignore  gitignore.Matcher
	total   int64
	entries int
	links   []tar.Header // symlinks, created once every file is in place
	files   map[string]bool
}

func (x *extractor) extractFile(ctx context.Context, in string) error {
	f, err := os.Open(in)
	if err != nil {
		if os.IsNotExist(err) {
			return promotion.Terminal(errors.New("inPath does not exist"))
		}
		return stripPath(err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return promotion.Terminal(errors.New("inPath is a directory, not an archive"))
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return promotion.Terminal(fmt.Errorf("reading gzip header: %w", err))
		}
		defer func() { _ = gz.Close() }()
		r = gz
	}
	x.files = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return promotion.Terminal(fmt.Errorf("reading the archive: %w", err))
		}
		x.entries++
		if x.entries > tarMaxEntries {
			return promotion.Terminal(fmt.Errorf("the archive has more than %d entries", tarMaxEntries))
		}
		if err := x.entry(h, tr); err != nil {
			return err
		}
	}
	return x.makeLinks()
}

// name maps an entry's name to its path below root, or "" to skip it.
func (x *extractor) name(h *tar.Header) (string, error) {
	raw := h.Name
	if strings.ContainsRune(raw, 0) || strings.Contains(raw, `\`) {
		return "", promotion.Terminal(fmt.Errorf("entry %q: the name has a NUL byte or a backslash", raw))
	}
	if strings.HasPrefix(raw, "/") {
		return "", promotion.Terminal(fmt.Errorf("entry %q: absolute names are refused", raw))
	}
	for _, el := range strings.Split(raw, "/") {
		if el == ".." {
			return "", promotion.Terminal(fmt.Errorf("entry %q: names with '..' are refused", raw))
		}
	}
	parts := strings.Split(strings.TrimSuffix(raw, "/"), "/")
	if x.strip > 0 {
		if len(parts) <= x.strip {
			return "", nil
		}
		parts = parts[x.strip:]
	}
	name := path.Clean(strings.Join(parts, "/"))
	if name == "." || name == "" {
		return "", nil
	}
	if ignored(x.ignore, strings.Split(name, "/"), h.Typeflag == tar.TypeDir) {
		return "", nil
	}
	return name, nil
}

func (x *extractor) entry(h *tar.Header, r io.Reader) error {
	name, err := x.name(h)
	if err != nil || name == "" {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		target, err := x.target(name)
		if err != nil {
			return err
		}
		return stripPath(os.MkdirAll(target, 0o755))
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		if h.Size > tarMaxFile {
			return promotion.Terminal(fmt.Errorf("entry %q is %d bytes, larger than the limit of %d", h.Name, h.Size, tarMaxFile))
		}
		return x.write(name, h, r)
	case tar.TypeLink:
		target, err := x.linkedFile(h)
		if err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(x.root, filepath.FromSlash(target)))
		if err != nil {
			return stripPath(err)
		}
		defer src.Close()
		fi, err := src.Stat()
		if err != nil {
			return stripPath(err)
		}
		copyHeader := *h
		copyHeader.Size = fi.Size()
		return x.write(name, &copyHeader, src)
	case tar.TypeSymlink:
		if err := x.checkSymlink(name, h.Linkname); err != nil {
			return err
		}
		l := *h
		l.Name = name
		x.links = append(x.links, l)
		return nil
	default:
		// Devices, FIFOs and the like have no place in a GitOps tree (Kargo skips them too).
		return nil
	}
}

// target resolves name inside root, refusing anything that leads out of it.
func (x *extractor) target(name string) (string, error) {
	return promotion.SecurePath(x.root, "archive entry", name)
}

// write creates a regular file from r, counting its bytes against the caps.
func (x *extractor) write(name string, h *tar.Header, r io.Reader) error {
	if x.total+h.Size > tarMaxTotal {
		return promotion.Terminal(fmt.Errorf("the archive expands to more than the limit of %d bytes", tarMaxTotal))
	}
	target, err := x.target(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return stripPath(err)
	}
	if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
		return promotion.Terminal(fmt.Errorf("entry %q: a directory or link of that name was extracted before", h.Name))
	}
	mode := fs.FileMode(h.Mode).Perm()&0o755 | 0o600
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return stripPath(err)
	}
	// One byte more than the header says: an entry must not write more than it declared.
	n, err := io.Copy(f, io.LimitReader(r, h.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing entry %q: %w", h.Name, stripPath(err))
	}
	if n > h.Size {
		return promotion.Terminal(fmt.Errorf("entry %q holds more data than its header declares", h.Name))
	}
	x.total += n
	x.files[name] = true
	if !h.ModTime.IsZero() {
		_ = os.Chtimes(target, h.ModTime, h.ModTime)
	}
	return nil
}

// linkedFile returns the extracted path of a hard link's target, which must be a
// regular file extracted earlier from the same archive.
func (x *extractor) linkedFile(h *tar.Header) (string, error) {
	l := h.Linkname
	if strings.HasPrefix(l, "/") || strings.Contains(l, `\`) || strings.ContainsRune(l, 0) {
		return "", promotion.Terminal(fmt.Errorf("entry %q: hard link to %q leads outside the archive", h.Name, l))
	}
	for _, el := range strings.Split(l, "/") {
		if el == ".." {
			return "", promotion.Terminal(fmt.Errorf("entry %q: hard link to %q leads outside the archive", h.Name, l))
		}
	}
	parts := strings.Split(l, "/")
	if x.strip > 0 {
		if len(parts) <= x.strip {
			return "", promotion.Terminal(fmt.Errorf("entry %q: hard link to %q, which stripComponents removes", h.Name, l))
		}
		parts = parts[x.strip:]
	}
	target := path.Clean(strings.Join(parts, "/"))
	if !x.files[target] {
		return "", promotion.Terminal(fmt.Errorf("entry %q: hard link to %q, which is not a file earlier in the archive", h.Name, l))
	}
	return target, nil
}

// checkSymlink refuses a link whose target, read from the link's place in the archive,
// is absolute or climbs above the archive's root.
func (x *extractor) checkSymlink(name, linkname string) error {
	if linkname == "" || strings.HasPrefix(linkname, "/") || strings.Contains(linkname, `\`) || strings.ContainsRune(linkname, 0) {
		return promotion.Terminal(fmt.Errorf("entry %q: symlink to %q leads outside the archive", name, linkname))
	}
	resolved := path.Join(path.Dir(name), linkname)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return promotion.Terminal(fmt.Errorf("entry %q: symlink to %q leads outside the archive", name, linkname))
	}
	return nil
}

// makeLinks creates the symlinks after every file and directory exists, so that no
// entry is ever written through one, then checks each resolves inside root: a chain of
// links that are each harmless alone must not lead out together.
func (x *extractor) makeLinks() error {
	for _, l := range x.links {
		p := filepath.Join(x.root, filepath.FromSlash(l.Name))
		parent, err := promotion.SecurePath(x.root, "archive entry", path.Dir(l.Name))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return stripPath(err)
		}
		p = filepath.Join(parent, filepath.Base(p))
		if _, err := os.Lstat(p); err == nil {
			return promotion.Terminal(fmt.Errorf("entry %q: a file or directory of that name was extracted before", l.Name))
		}
		if err := os.Symlink(l.Linkname, p); err != nil {
			return stripPath(err)
		}
	}
	for _, l := range x.links {
		if _, err := promotion.SecurePath(x.root, "archive entry", l.Name); err != nil {
			if !isDangling(x.root, l.Name) {
				return promotion.Terminal(fmt.Errorf("entry %q: symlink to %q leads outside the archive or into a .git directory", l.Name, l.Linkname))
			}
		}
	}
	return nil
}

// isDangling reports whether the link at name points at nothing, but stays inside root
// when resolved lexically from its real location: such links are kept, as tar keeps
// them.
func isDangling(root, name string) bool {
	p := filepath.Join(root, filepath.FromSlash(name))
	real, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return false
	}
	dest, err := os.Readlink(p)
	if err != nil {
		return false
	}
	full := filepath.Join(real, dest)
	if _, err := os.Lstat(full); !os.IsNotExist(err) {
		return false
	}
	rel, err := filepath.Rel(root, full)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !strings.Contains("/"+filepath.ToSlash(rel)+"/", "/.git/")
}
