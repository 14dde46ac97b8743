package promotion_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

// FuzzSecurePath checks the one path guard every step uses: whatever the config says,
// an accepted path is inside the work directory and outside .git, even through the
// symlinks a hostile repository ships, and a refusal never names the host path.
func FuzzSecurePath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "%2e%2e/x", "/etc/passwd", "out/../../x", "link/x", ".git/config",
		"src/.GIT/hooks", "link-git/config", "loop", "dangling/x", `a\..\..\x`, "a/./b", "", "."} {
		f.Add(s)
	}
	root := f.TempDir()
	outside := f.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "sub", ".git"), 0o755)
	_ = os.Symlink(outside, filepath.Join(root, "link"))
	_ = os.Symlink("sub/.git", filepath.Join(root, "link-git"))
	_ = os.Symlink("sub", filepath.Join(root, "inside"))
	_ = os.Symlink("loop", filepath.Join(root, "loop"))
	_ = os.Symlink("nowhere", filepath.Join(root, "dangling"))
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := promotion.SecurePath(root, "path", p)
		if err != nil {
			if strings.Contains(err.Error(), rootReal) || strings.Contains(err.Error(), outside) {
				t.Fatalf("refusal of %q leaks a host path: %v", p, err)
			}
			return
		}
		rel, rerr := filepath.Rel(rootReal, got)
		if rerr != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("SecurePath(%q) = %q, outside the work directory %q", p, got, rootReal)
		}
		for _, el := range strings.Split(rel, string(filepath.Separator)) {
			if promotion.IsGitDirName(el) {
				t.Fatalf("SecurePath(%q) = %q, inside a .git directory", p, got)
			}
		}
		if real, err := filepath.EvalSymlinks(got); err == nil {
			if r, _ := filepath.Rel(rootReal, real); r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				t.Fatalf("SecurePath(%q) = %q resolves to %q, outside the work directory", p, got, real)
			}
		}
	})
}

// FuzzEvalTemplate feeds arbitrary templates to the strict expression compiler: it
// must never panic or hang, text without delimiters is returned unchanged, and what an
// expression returns is never evaluated again (Freight data stays data).
func FuzzEvalTemplate(f *testing.F) {
	for _, s := range []string{"plain", "${{ vars.a }}", "x-${{ 1+2 }}-y", "${{ vars.nope }}", "${% '}}' %}",
		"${{", "${{ }}", "${{ flatten([[[1]]]) }}", "${{ repeat('x', 9) }}", "${{ vars.evil }}", "a ${{ (((1))) }} b",
		"${{ secret('other/x') }}", "${{ " + strings.Repeat("[", 50) + strings.Repeat("]", 50) + " }}"} {
		f.Add(s)
	}
	env := promotion.Env{"vars": map[string]any{"a": "x", "evil": "${{ vars.a }}"}, "ctx": map[string]any{},
		"outputs": map[string]any{}, "task": map[string]any{}}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4*promotion.MaxExpressionSize {
			return
		}
		out, err := promotion.EvalTemplate(s, env)
		if !strings.Contains(s, "${{") && !strings.Contains(s, "${%") {
			if err != nil || out != s {
				t.Fatalf("text without expressions changed: %q → %#v, %v", s, out, err)
			}
			return
		}
		if err != nil {
			return
		}
		if strings.TrimSpace(s) == "${{ vars.evil }}" && out != "${{ vars.a }}" {
			t.Fatalf("a value holding ${{ }} was evaluated again: %#v", out)
		}
	})
}
