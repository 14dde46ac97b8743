package steps

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Chart archives (a chart's charts/*.tgz, vendored or downloaded by Helm) are
// checked before Helm reads them. Helm's loader expands an archive in memory up to
// 100 MiB, keeps a symlink entry as an empty file and, when it refuses an archive it
// downloaded for `dependency update`, only prints a line and carries on without it.
// Haul refuses instead, naming the archive and the entry.

// maxChartArchiveEntries caps the entries of one chart archive, nested ones included.
const maxChartArchiveEntries = 10_000

// maxNestedChartArchiveDepth caps archives inside archives (charts/a.tgz holding
// charts/b.tgz ...).
const maxNestedChartArchiveDepth = 5

// isChartArchive reports whether p is a subchart archive Helm would load: a .tgz (or
// .tar.gz) directly in a charts/ directory.
func isChartArchive(p string) bool {
	return filepath.Base(filepath.Dir(p)) == "charts" && (strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, ".tar.gz"))
}

// checkChartArchive reads the chart archive at p (shown as shown) without keeping
// it: only regular files and directories with relative names inside the archive are
// allowed, and the expanded size, nested archives included, must stay within budget
// (what is left of maxChartSize for the chart). It returns the expanded size.
func checkChartArchive(p, shown string, budget int64) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("reading chart archive %s: %w", shown, stripPath(err))
	}
	defer f.Close()
	c := &chartArchiveCheck{shown: shown, budget: budget}
	if err := c.check(f, 0); err != nil {
		return 0, err
	}
	return c.used, nil
}

type chartArchiveCheck struct {
	shown   string
	budget  int64
	used    int64
	entries int
}

func (c *chartArchiveCheck) check(r io.Reader, depth int) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("chart archive %s is not gzip-compressed: %w", c.shown, err)
	}
	defer func() { _ = gz.Close() }()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("chart archive %s: %w", c.shown, err)
		}
		if c.entries++; c.entries > maxChartArchiveEntries {
			return fmt.Errorf("chart archive %s has more than %d entries", c.shown, maxChartArchiveEntries)
		}
		if err := c.checkName(h.Name); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		case tar.TypeSymlink:
			return fmt.Errorf("chart archive %s: entry %q is a symlink (to %q); chart archives may hold only files and directories", c.shown, h.Name, h.Linkname)
		case tar.TypeLink:
			return fmt.Errorf("chart archive %s: entry %q is a hard link (to %q); chart archives may hold only files and directories", c.shown, h.Name, h.Linkname)
		default:
			return fmt.Errorf("chart archive %s: entry %q is of type %q; chart archives may hold only files and directories", c.shown, h.Name, h.Typeflag)
		}
		// Count what is actually expanded, not what the header claims.
		left := c.budget - c.used
		var nested *bytes.Buffer
		dst := io.Discard
		if isChartArchive(h.Name) {
			if depth+1 >= maxNestedChartArchiveDepth {
				return fmt.Errorf("chart archive %s: entry %q nests chart archives more than %d deep", c.shown, h.Name, maxNestedChartArchiveDepth)
			}
			nested = &bytes.Buffer{}
			dst = nested
		}
		n, err := io.Copy(dst, io.LimitReader(tr, left+1))
		if err != nil {
			return fmt.Errorf("chart archive %s: entry %q: %w", c.shown, h.Name, err)
		}
		if c.used += n; c.used > c.budget {
			return fmt.Errorf("chart archive %s expands past the chart size limit of %d bytes (a decompression bomb?)", c.shown, maxChartSize)
		}
		if nested != nil {
			if err := c.check(nested, depth+1); err != nil {
				return err
			}
		}
	}
}

// checkName refuses entry names that are absolute, climb out with "..", or hold a
// NUL byte or a backslash (which Helm reads as a Windows separator).
func (c *chartArchiveCheck) checkName(name string) error {
	if strings.ContainsRune(name, 0) || strings.Contains(name, `\`) {
		return fmt.Errorf("chart archive %s: entry %q has a NUL byte or a backslash in its name", c.shown, name)
	}
	if path.IsAbs(name) {
		return fmt.Errorf("chart archive %s: entry %q has an absolute name", c.shown, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return fmt.Errorf("chart archive %s: entry %q has '..' in its name", c.shown, name)
		}
	}
	return nil
}
