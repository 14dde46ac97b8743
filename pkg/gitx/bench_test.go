package gitx_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
)

// bigRepo serves a repository of n files.
func bigRepo(b *testing.B, n int) string {
	srv, err := testservers.StartGitServer(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("apps/app%02d/f-%04d.yaml", i%40, i)] = fmt.Sprintf("kind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
	}
	if _, err := srv.SeedRepo("big", files); err != nil {
		b.Fatal(err)
	}
	return srv.RepoURL("big")
}

// BenchmarkCloneCold compares a full clone of a 2,000-file repository.
func BenchmarkCloneCold(b *testing.B) {
	url := bigRepo(b, 2000)
	b.Run("go-git", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			if _, err := git.PlainClone(dir, false, &git.CloneOptions{URL: url}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cli-cache-checkout", func(b *testing.B) {
		for b.Loop() {
			c := gitx.New(b.TempDir())
			if _, err := c.Clone(context.Background(), url, nil, nil, filepath.Join(b.TempDir(), "w"), gitx.Checkout{Branch: "main"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckoutWarm compares checking out from an already fetched repository.
func BenchmarkCheckoutWarm(b *testing.B) {
	url := bigRepo(b, 2000)
	src := b.TempDir()
	if _, err := git.PlainClone(src, true, &git.CloneOptions{URL: url}); err != nil {
		b.Fatal(err)
	}
	b.Run("go-git-clone-local", func(b *testing.B) {
		for b.Loop() {
			if _, err := git.PlainClone(b.TempDir(), false, &git.CloneOptions{URL: src}); err != nil {
				b.Fatal(err)
			}
		}
	})
	c := gitx.New(b.TempDir())
	cacheDir, err := c.Fetch(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cli-fresh-tree", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Checkout(context.Background(), cacheDir, url, nil, nil, filepath.Join(b.TempDir(), "w"), gitx.Checkout{Branch: "main", Scope: "fresh"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cli-pooled-tree", func(b *testing.B) {
		root := b.TempDir()
		for b.Loop() {
			dir := filepath.Join(root, "w")
			if _, err := c.Checkout(context.Background(), cacheDir, url, nil, nil, dir, gitx.Checkout{Branch: "main"}); err != nil {
				b.Fatal(err)
			}
			c.Reclaim(root)
		}
	})
}

// BenchmarkCommitAndPush compares commit (status of 2,000 files) and push.
func BenchmarkCommitAndPush(b *testing.B) {
	url := bigRepo(b, 2000)
	b.Run("go-git", func(b *testing.B) {
		dir := b.TempDir()
		repo, err := git.PlainClone(dir, false, &git.CloneOptions{URL: url})
		if err != nil {
			b.Fatal(err)
		}
		wt, _ := repo.Worktree()
		i := 0
		var commit, push time.Duration
		for b.Loop() {
			i++
			_ = os.WriteFile(filepath.Join(dir, "apps/app00/f-0000.yaml"), []byte(fmt.Sprintf("v: %d\n", i)), 0o644)
			t0 := time.Now()
			if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
				b.Fatal(err)
			}
			if _, err := wt.Commit("c", &git.CommitOptions{Author: &object.Signature{Name: "a", Email: "a@b", When: time.Now()}}); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := repo.Push(&git.PushOptions{RefSpecs: nil}); err != nil {
				b.Fatal(err)
			}
			commit += t1.Sub(t0)
			push += time.Since(t1)
		}
		b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit_ms")
		b.ReportMetric(float64(push.Milliseconds())/float64(b.N), "push_ms")
	})
	// haul commits with the git CLI and pushes a fast-forward in process with only the
	// work tree's own objects; git-cli pushes the same commits with `git push`.
	for _, mode := range []string{"haul", "git-cli"} {
		b.Run(mode, func(b *testing.B) {
			c := gitx.New(b.TempDir())
			dir := filepath.Join(b.TempDir(), "w")
			w, err := c.Clone(context.Background(), url, nil, nil, dir, gitx.Checkout{Branch: "main"})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			var commit, push time.Duration
			for b.Loop() {
				i++
				_ = os.WriteFile(filepath.Join(dir, "apps/app00/f-0000.yaml"), []byte(fmt.Sprintf("v: %d\n", i)), 0o644)
				t0 := time.Now()
				if _, _, err := w.CommitAll(context.Background(), "c"); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if mode == "haul" {
					_, err = w.Push(context.Background(), "main", gitx.PushOptions{})
				} else {
					_, err = w.Git(context.Background(), "push", "-q", "origin", "HEAD:refs/heads/main")
				}
				if err != nil {
					b.Fatal(err)
				}
				commit += t1.Sub(t0)
				push += time.Since(t1)
			}
			b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit_ms")
			b.ReportMetric(float64(push.Milliseconds())/float64(b.N), "push_ms")
		})
	}
}
