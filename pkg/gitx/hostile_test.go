package gitx_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haul-dev/haul/pkg/gitx"
)

// evilScript writes a program that leaves a marker file named after its first
// argument in markDir and passes stdin through (so that as a filter it would "work").
func evilScript(t *testing.T, markDir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "evil.sh")
	script := fmt.Sprintf("#!/bin/sh\ntouch %q/\"${1:-unnamed}\"\ncat\n", markDir)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// plantHostileGitDir writes into w's .git everything a hostile step or repository would
// like git to obey: config keys that run programs or redirect the remote, an included
// config file, hooks in both the default and a configured hooks dir, and a commondir
// that points git at another config.
func plantHostileGitDir(t *testing.T, dir, evil, otherRemote string) {
	t.Helper()
	gd := filepath.Join(dir, ".git")
	outside := t.TempDir()
	hooks := filepath.Join(outside, "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"pre-commit", "commit-msg", "post-commit", "pre-push", "post-checkout", "post-merge",
		"reference-transaction", "post-index-change", "post-rewrite", "pre-rebase", "pre-auto-gc"} {
		body := fmt.Sprintf("#!/bin/sh\nexec %q hook-%s\n", evil, h)
		for _, d := range []string{hooks, filepath.Join(gd, "hooks")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, h), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	included := filepath.Join(outside, "included.config")
	if err := os.WriteFile(included, []byte(fmt.Sprintf("[core]\n\tfsmonitor = %s include-fsmonitor\n[alias]\n\tci = !%s alias\n", evil, evil)), 0o644); err != nil {
		t.Fatal(err)
	}
	common := filepath.Join(outside, "common")
	if err := os.MkdirAll(common, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(common, "config"), []byte(fmt.Sprintf("[core]\n\tfsmonitor = %s commondir-fsmonitor\n", evil)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`[core]
	repositoryformatversion = 0
	bare = false
	fsmonitor = %[1]s fsmonitor
	hooksPath = %[2]s
	sshCommand = %[1]s ssh
	askPass = %[1]s askpass
	pager = %[1]s pager
	editor = %[1]s editor
	alternateRefsCommand = %[1]s alternate-refs
[include]
	path = %[3]s
[filter "x"]
	clean = %[1]s filter-clean
	smudge = %[1]s filter-smudge
	required = true
[diff "x"]
	command = %[1]s diff-driver
	textconv = %[1]s textconv
[diff]
	external = %[1]s diff-external
[merge "x"]
	driver = %[1]s merge-driver
[sequence]
	editor = %[1]s sequence-editor
[credential]
	helper = !%[1]s credential
[gpg]
	program = %[1]s gpg
[commit]
	gpgSign = true
[remote "origin"]
	url = %[4]s
	fetch = +refs/heads/*:refs/remotes/origin/*
`, evil, hooks, included, otherRemote)
	if err := os.WriteFile(filepath.Join(gd, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gd, "commondir"), []byte(common+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(gd, "info"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gd, "info", "attributes"), []byte("* filter=x diff=x merge=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// .gitattributes in the tree is ordinary content a step may write; it must select
	// nothing that runs.
	if err := os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte("* filter=x diff=x merge=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func markers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestHostileGitConfigRunsNothingDuringCommitPushAndCheckout plants a .git/config (and
// hooks, an include, filters, a commondir) that would run a program at every step git
// takes, then commits, pushes (integrating a concurrent writer, so git fetches and
// rebases) and checks the pooled tree out again. Nothing may run, and the push must go
// to the work tree's real remote, not the one the planted config names.
func TestHostileGitConfigRunsNothingDuringCommitPushAndCheckout(t *testing.T) {
	srv := seededServer(t)
	if _, err := srv.SeedRepo("decoy", map[string]string{"d": "1"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	markDir := t.TempDir()
	evil := evilScript(t, markDir)
	c := gitx.New(t.TempDir())
	url := srv.RepoURL("r")
	root := t.TempDir()
	dir := filepath.Join(root, "src")
	w, err := c.Clone(ctx, url, nil, nil, dir, gitx.Checkout{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	plantHostileGitDir(t, dir, evil, srv.RepoURL("decoy"))

	if err := os.WriteFile(filepath.Join(dir, "v"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	head, made, err := w.CommitAll(ctx, "hostile commit")
	if err != nil || !made {
		t.Fatalf("commit: made=%v err=%v", made, err)
	}
	// Another writer moves main, so the push rejects, fetches and rebases.
	if _, err := srv.Commit("r", "main", map[string]string{"other": "x"}, "concurrent"); err != nil {
		t.Fatal(err)
	}
	plantHostileGitDir(t, dir, evil, srv.RepoURL("decoy"))
	pushed, err := w.Push(ctx, "main", gitx.PushOptions{})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if got, _ := srv.RevParse("r", "main"); got != pushed || pushed == head {
		t.Fatalf("remote main = %s, want the rebased %s (local commit was %s)", got, pushed, head)
	}
	if got, _ := srv.RevParse("decoy", "main"); got == pushed {
		t.Fatal("the push went to the remote named by the planted config")
	}

	// The finished tree goes back to the pool with its hostile git dir and is checked
	// out again (reset --hard and clean in the reused tree).
	plantHostileGitDir(t, dir, evil, srv.RepoURL("decoy"))
	c.Reclaim(root)
	w2, err := c.Clone(ctx, url, nil, nil, filepath.Join(t.TempDir(), "again"), gitx.Checkout{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if w2.Head(ctx) != pushed {
		t.Fatalf("second checkout at %s, want %s", w2.Head(ctx), pushed)
	}
	if got := markers(t, markDir); len(got) > 0 {
		t.Fatalf("git ran programs named by the planted git dir: %s", strings.Join(got, ", "))
	}
	// A .git that is not a directory is refused rather than followed.
	if err := os.RemoveAll(filepath.Join(w2.Dir, ".git")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, ".git"), filepath.Join(w2.Dir, ".git")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w2.CommitAll(ctx, "through a link"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("commit through a .git symlink: %v, want a refusal", err)
	}
}
