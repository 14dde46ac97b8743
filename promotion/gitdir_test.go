package promotion_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// commitSymlink adds a symlink name → target to main of the named bare repository
// (plumbing only, as a hostile repository owner would commit it).
func commitSymlink(t *testing.T, srv *testservers.GitServer, repo, name, target string) {
	t.Helper()
	bare := filepath.Join(srv.Root, repo+".git")
	script := fmt.Sprintf(`set -e
export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@x
blob=$(printf %%s %q | git hash-object -w --stdin)
tree=$( (git ls-tree main; printf "120000 blob %%s\t%%s\n" $blob %q) | git mktree)
c=$(git commit-tree $tree -p main -m "add a link")
git update-ref refs/heads/main $c`, target, name)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = bare
	cmd.Env = append(os.Environ(), "GIT_DIR="+bare)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// The reviewer's attack: a Stage's steps write a core.fsmonitor command into the
// clone's .git/config and then commit, which made the controller run the command.
// Every step that takes a path must refuse one inside a .git directory (also in
// another case, percent-encoded, or through a symlink the repository commits), so the
// commit that follows never sees a planted config.
func TestStepsCannotWriteIntoACloneGitDirSoGitRunsNothingTheyPlant(t *testing.T) {
	srv, repo := gitopsRepo(t, "test")
	commitSymlink(t, srv, "gitops", "link", ".git")
	e := newEngine(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	// The clone's own remote stays, so git-commit opens the work tree as usual.
	hostile := fmt.Sprintf("[core]\n\tfsmonitor = touch %s\n[remote \"origin\"]\n\turl = %s\n", marker, repo)
	clone := step("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}})
	commit := step("git-commit", "commit", map[string]any{"path": "src", "message": "after the attack"})
	write := func(path string) haulv1.PromotionStep {
		return step("file-write", "w", map[string]any{"path": path, "contents": hostile})
	}
	cases := map[string]struct {
		steps []haulv1.PromotionStep
		want  string
	}{
		"file-write into .git/config": {[]haulv1.PromotionStep{write("./src/.git/config")},
			`path "./src/.git/config": must not be inside a .git directory`},
		"file-write in another case": {[]haulv1.PromotionStep{write("src/.GIT/config")},
			`path "src/.GIT/config": must not be inside a .git directory`},
		"file-write percent-encoded": {[]haulv1.PromotionStep{write("src/%2egit/config")},
			`path "src/%2egit/config": must not be inside a .git directory`},
		"file-write through a committed symlink to .git": {[]haulv1.PromotionStep{write("src/link/config")},
			`path "src/link/config": must not be inside a .git directory (through a symlink)`},
		"copy a file into .git": {[]haulv1.PromotionStep{write("payload"),
			step("copy", "c", map[string]any{"inPath": "payload", "outPath": "src/.git/config"})},
			`outPath "src/.git/config": must not be inside a .git directory`},
		"copy a directory onto a symlink to .git": {[]haulv1.PromotionStep{write("dir/config"),
			step("copy", "c", map[string]any{"inPath": "dir", "outPath": "src/link"})},
			`outPath "src/link": must not be inside a .git directory (through a symlink)`},
		"copy out of .git": {[]haulv1.PromotionStep{step("copy", "c", map[string]any{"inPath": "src/.git/config", "outPath": "leak"})},
			`inPath "src/.git/config": must not be inside a .git directory`},
		"delete inside .git": {[]haulv1.PromotionStep{step("delete", "d", map[string]any{"path": "src/.git/hooks"})},
			`path "src/.git/hooks": must not be inside a .git directory`},
		"yaml-update inside .git": {[]haulv1.PromotionStep{step("yaml-update", "y", map[string]any{"path": "src/.git/x.yaml",
			"updates": []any{map[string]any{"key": "a", "value": "b"}}})},
			`path "src/.git/x.yaml": must not be inside a .git directory`},
		"json-update inside .git": {[]haulv1.PromotionStep{step("json-update", "j", map[string]any{"path": "src/link/x.json",
			"updates": []any{map[string]any{"key": "a", "value": "b"}}})},
			`path "src/link/x.json": must not be inside a .git directory (through a symlink)`},
		"kustomize-build output into .git": {[]haulv1.PromotionStep{step("kustomize-build", "k", map[string]any{"path": "src/stages/test", "outPath": "src/.git/hooks"})},
			`outPath "src/.git/hooks": must not be inside a .git directory`},
		"kustomize-set-image inside .git": {[]haulv1.PromotionStep{step("kustomize-set-image", "k", map[string]any{"path": "src/.git",
			"images": []any{map[string]any{"image": "example.com/app"}}})},
			`path "src/.git": must not be inside a .git directory`},
		"helm-template output into .git": {[]haulv1.PromotionStep{step("helm-template", "h", map[string]any{"path": "chart", "outPath": "src/.git/config"})},
			`outPath "src/.git/config": must not be inside a .git directory`},
		"git-clear of the .git dir": {[]haulv1.PromotionStep{step("git-clear", "g", map[string]any{"path": "src/.git"})},
			`path "src/.git": must not be inside a .git directory`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_ = os.Remove(marker)
			steps := append(append([]haulv1.PromotionStep{clone}, c.steps...), commit)
			res, _ := run(t, e, steps, freight("1.0.0"), promotion.State{})
			if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the planted command ran (marker present: %v)", err)
			}
			mustFail(t, res, c.want)
		})
	}
}

// delete acts on the path itself: a symlink is removed as a link, and neither a file
// nor a directory it points to (inside or outside the work dir) is touched.
func TestDeleteOfASymlinkRemovesTheLinkNotItsTarget(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outside, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "dir", "f"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"link to a file inside":       "target.txt",
		"link to a directory inside":  "targetdir",
		"link to a file outside":      filepath.Join(outside, "secret"),
		"link to a directory outside": filepath.Join(outside, "dir"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "target.txt"), []byte("kept"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "targetdir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "targetdir", "f"), []byte("kept"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, "sub", "link")); err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(target) {
				// relative links resolve from the link's directory
				_ = os.Remove(filepath.Join(dir, "sub", "link"))
				if err := os.Symlink(filepath.Join("..", target), filepath.Join(dir, "sub", "link")); err != nil {
					t.Fatal(err)
				}
			}
			res, _ := runIn(t, dir, freight("1"), nil, step("delete", "d", map[string]any{"path": "sub/link", "strict": true}))
			if res.Phase != haulv1.PromotionSucceeded {
				t.Fatalf("%s: %s", res.Phase, res.Message)
			}
			if _, err := os.Lstat(filepath.Join(dir, "sub", "link")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("link still there: %v", err)
			}
			for _, p := range []string{filepath.Join(dir, "target.txt"), filepath.Join(dir, "targetdir", "f"),
				filepath.Join(outside, "secret"), filepath.Join(outside, "dir", "f")} {
				if _, err := os.Stat(p); err != nil {
					t.Fatalf("%s was removed with the link: %v", filepath.Base(p), err)
				}
			}
		})
	}
}
