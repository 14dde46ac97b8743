package steps

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCopyIgnoreLeavesMatchingFilesOut(t *testing.T) {
	r := newStepRun(t, map[string]string{
		"src/app.yaml":        "a",
		"src/notes.md":        "n",
		"src/docs/guide.md":   "g",
		"src/tmp/scratch.txt": "s",
		"src/keep/tmp.txt":    "k",
	})
	r.mustRun(t, copyStep, map[string]any{"inPath": "src", "outPath": "out",
		"ignore": "# docs are not deployed\n*.md\n/tmp/\n\n"})
	for p, want := range map[string]bool{
		"out/app.yaml": true, "out/keep/tmp.txt": true,
		"out/notes.md": false, "out/docs/guide.md": false, "out/tmp/scratch.txt": false,
	} {
		if got := r.exists(p); got != want {
			t.Errorf("%s exists = %v, want %v", p, got, want)
		}
	}
}

func TestCopySkipsSymlinksAsKargoDoes(t *testing.T) {
	r := newStepRun(t, map[string]string{"src/real.txt": "r"})
	if err := os.Symlink("real.txt", filepath.Join(r.dir, "src/link.txt")); err != nil {
		t.Fatal(err)
	}
	r.mustRun(t, copyStep, map[string]any{"inPath": "src", "outPath": "out"})
	if !r.exists("out/real.txt") || r.exists("out/link.txt") {
		t.Fatalf("want real.txt copied and link.txt skipped; real=%v link=%v", r.exists("out/real.txt"), r.exists("out/link.txt"))
	}
}

func TestDeletePathsAndGlobs(t *testing.T) {
	files := map[string]string{
		"a.bak": "", "keep.yaml": "", "dir/b.bak": "", "dir/deep/c.bak": "", "dir/d.yaml": "", "other/x": "",
	}
	t.Run("literal paths", func(t *testing.T) {
		r := newStepRun(t, files)
		r.mustRun(t, deleteStep, map[string]any{"paths": []any{"a.bak", "other", "not-there"}})
		if r.exists("a.bak") || r.exists("other") || !r.exists("keep.yaml") {
			t.Fatal("paths were not deleted as listed")
		}
	})
	t.Run("doublestar globs", func(t *testing.T) {
		r := newStepRun(t, files)
		r.mustRun(t, deleteStep, map[string]any{"path": "**/*.bak", "pathsAreGlobs": true})
		for _, p := range []string{"a.bak", "dir/b.bak", "dir/deep/c.bak"} {
			if r.exists(p) {
				t.Errorf("%s survived", p)
			}
		}
		if !r.exists("keep.yaml") || !r.exists("dir/d.yaml") {
			t.Error("a file the pattern does not match was deleted")
		}
	})
	t.Run("a glob is a literal path unless pathsAreGlobs", func(t *testing.T) {
		r := newStepRun(t, files)
		r.mustRun(t, deleteStep, map[string]any{"path": "*.bak"})
		if !r.exists("a.bak") {
			t.Fatal("*.bak was expanded although pathsAreGlobs is false")
		}
	})
	t.Run("strict fails on a pattern matching nothing", func(t *testing.T) {
		r := newStepRun(t, files)
		_, err := r.run(t, deleteStep, map[string]any{"paths": []any{"*.bak", "*.none"}, "pathsAreGlobs": true, "strict": true})
		wantErr(t, err, `no paths matched pattern "*.none"`)
	})
	t.Run("strict fails on a missing literal path", func(t *testing.T) {
		r := newStepRun(t, files)
		_, err := r.run(t, deleteStep, map[string]any{"path": "gone", "strict": true})
		wantErr(t, err, `path "gone" does not exist`)
	})
	t.Run("bad pattern", func(t *testing.T) {
		r := newStepRun(t, files)
		_, err := r.run(t, deleteStep, map[string]any{"path": "[", "pathsAreGlobs": true})
		wantErr(t, err, `invalid glob pattern "["`)
	})
	t.Run("path and paths together", func(t *testing.T) {
		r := newStepRun(t, files)
		_, err := r.run(t, deleteStep, map[string]any{"path": "a.bak", "paths": []any{"keep.yaml"}})
		wantErr(t, err, "exactly one of path and paths")
	})
}

func TestDeleteGlobNeverReachesIntoGit(t *testing.T) {
	r := newStepRun(t, map[string]string{"repo/.git/config": "[core]", "repo/app.yaml": ""})
	r.mustRun(t, deleteStep, map[string]any{"path": "repo/**", "pathsAreGlobs": true})
	if !r.exists("repo/.git/config") {
		t.Fatal("a glob deleted a repository's .git content")
	}
	if r.exists("repo/app.yaml") {
		t.Fatal("repo/app.yaml survived")
	}
}

func TestFileWriteRefusesAnExistingFileWithoutOverwrite(t *testing.T) {
	r := newStepRun(t, map[string]string{"out.txt": "old"})
	_, err := r.run(t, fileWrite, map[string]any{"path": "out.txt", "contents": "new"})
	wantErr(t, err, `file "out.txt" already exists; set overwrite to true to replace it`)
	if got := r.read(t, "out.txt"); got != "old" {
		t.Fatalf("out.txt = %q after a refused write", got)
	}
	r.mustRun(t, fileWrite, map[string]any{"path": "out.txt", "contents": "new", "overwrite": true})
	if got := r.read(t, "out.txt"); got != "new" {
		t.Fatalf("out.txt = %q, want new", got)
	}
	// A replay writes what is already there: that is not a conflict.
	r.mustRun(t, fileWrite, map[string]any{"path": "out.txt", "contents": "new"})
}

func TestFileWritePermissions(t *testing.T) {
	r := newStepRun(t, nil)
	r.mustRun(t, fileWrite, map[string]any{"path": "default.txt", "contents": "x"})
	r.mustRun(t, fileWrite, map[string]any{"path": "shared.txt", "contents": "x", "permissions": "0644"})
	for p, want := range map[string]os.FileMode{"default.txt": 0o600, "shared.txt": 0o644} {
		fi, err := os.Stat(filepath.Join(r.dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
	for perm, why := range map[string]string{
		"0755": "executable", "0666": "world-writable", "644": "octal file mode", "0999": "octal file mode", "4644": "octal file mode",
	} {
		_, err := r.run(t, fileWrite, map[string]any{"path": "bad-" + perm, "contents": "x", "permissions": perm})
		wantErr(t, err, `permissions "`+perm+`"`, why)
		if r.exists("bad-" + perm) {
			t.Errorf("a file was written with refused permissions %s", perm)
		}
	}
}
