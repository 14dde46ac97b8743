package steps

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/haul-dev/haul/promotion"
)

type tarConfig struct {
	InPath  string `json:"inPath"`
	OutPath string `json:"outPath"`
	Ignore  string `json:"ignore,omitempty"`
	Gzip    bool   `json:"gzip,omitempty"`
}

// Validate checks what the Kargo schema requires beyond presence.
func (c *tarConfig) Validate() error {
	switch {
	case c.InPath == "":
		return errors.New("inPath must not be empty")
	case c.OutPath == "":
		return errors.New("outPath must not be empty")
	}
	return nil
}

// tarStep archives a file or directory (its contents, relative to it) into outPath,
// gzipped when asked, replacing any file there. Symlinks are archived as links, never
// followed; .git directories, sockets and devices are left out, and so is the archive
// itself when outPath lies inside inPath. Sizes are capped as untar caps them.
func tarStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg tarConfig
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
	if ofi, err := os.Lstat(out); err == nil && (ofi.IsDir() || ofi.Mode()&os.ModeSymlink != 0) {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q is a directory or a symlink, not a file", cfg.OutPath))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating the directory of %s: %w", cfg.OutPath, stripPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating %s: %w", cfg.OutPath, stripPath(err))
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	var w io.Writer = tmp
	var gz *gzip.Writer
	if cfg.Gzip {
		gz = gzip.NewWriter(tmp)
		w = gz
	}
	tw := tar.NewWriter(w)
	a := &archiver{tw: tw, ignore: archiveIgnore(cfg.Ignore), skip: map[string]bool{tmp.Name(): true, out: true}}
	if fi.IsDir() {
		err = a.addTree(ctx, in)
	} else {
		err = a.add(in, filepath.Base(in), fi)
	}
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("archiving %s: %w", cfg.InPath, err)
	}
	if err := tw.Close(); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
		}
	}
	if err := tmp.Close(); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

// archiver writes entries to a tar stream, keeping count against the caps.
type archiver struct {
	tw      *tar.Writer
	ignore  gitignore.Matcher
	skip    map[string]bool
	total   int64
	entries int
}

func (a *archiver) addTree(ctx context.Context, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return stripPath(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir || a.skip[p] {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(a.ignore, strings.Split(rel, "/"), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return stripPath(err)
		}
		return a.add(p, rel, fi)
	})
}

// add writes one entry named name for the file at p.
func (a *archiver) add(p, name string, fi fs.FileInfo) error {
	var link string
	switch {
	case fi.Mode().IsRegular():
		if fi.Size() > tarMaxFile {
			return promotion.Terminal(fmt.Errorf("%s is %d bytes, larger than the limit of %d", name, fi.Size(), tarMaxFile))
		}
		if a.total += fi.Size(); a.total > tarMaxTotal {
			return promotion.Terminal(fmt.Errorf("the files add up to more than the limit of %d bytes", tarMaxTotal))
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		var err error
		if link, err = os.Readlink(p); err != nil {
			return stripPath(err)
		}
		link = filepath.ToSlash(link)
	case fi.IsDir():
		name += "/"
	default:
		return nil
	}
	if a.entries++; a.entries > tarMaxEntries {
		return promotion.Terminal(fmt.Errorf("more than %d files to archive", tarMaxEntries))
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	h.Name = name
	// The controller's user and group mean nothing to whoever extracts the archive.
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	if err := a.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return stripPath(err)
	}
	defer f.Close()
	if _, err := io.Copy(a.tw, io.LimitReader(f, fi.Size())); err != nil {
		return fmt.Errorf("%s: %w", name, stripPath(err))
	}
	return nil
}
