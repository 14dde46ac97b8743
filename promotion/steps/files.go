package steps

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/haul-dev/haul/promotion"
)

type copyConfig struct {
	InPath  string `json:"inPath"`
	OutPath string `json:"outPath"`
}

type deleteConfig struct {
	Path   string `json:"path"`
	Strict bool   `json:"strict,omitempty"`
}

type fileWriteConfig struct {
	Path     string `json:"path"`
	Contents string `json:"contents"`
}

// copyStep copies a file or directory tree within the work dir. Symlinks inside the
// source are not followed; one leading outside is an error.
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
	if !fi.IsDir() {
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
		shown := filepath.Join(cfg.OutPath, rel)
		// Each target is checked like outPath itself: a symlink already in the
		// destination tree must not lead the copy outside it or into a .git.
		target, err := promotion.SecurePath(root, "outPath", shown)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			if _, err := promotion.SecurePath(root, "inPath", filepath.Join(cfg.InPath, rel)); err != nil {
				return err
			}
			return copyFile(p, target, shown)
		default:
			return copyFile(p, target, shown)
		}
	})
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("copying %s: %w", cfg.InPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
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

func deleteStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg deleteConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	if cfg.Path == "" || cfg.Path == "." {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q would delete the whole work directory", cfg.Path))
	}
	// The path itself, not what a symlink there points to: deleting a link removes
	// the link and never its target.
	p, err := sc.PathNoFollow("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if _, err := os.Lstat(p); os.IsNotExist(err) {
		if cfg.Strict {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q does not exist", cfg.Path))
		}
		return promotion.StepResult{}, nil
	}
	if err := os.RemoveAll(p); err != nil {
		return promotion.StepResult{}, fmt.Errorf("deleting %s: %w", cfg.Path, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

func fileWrite(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg fileWriteConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	p, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if len(cfg.Contents) > MaxFileSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("contents are larger than %d bytes", MaxFileSize))
	}
	return promotion.StepResult{}, writeFile(p, cfg.Path, []byte(cfg.Contents))
}
