package warehouse

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/haul-dev/haul/internal/testservers"
)

// These benchmarks are the measurement behind git.go's split: refs are listed with
// go-git (in process, no fork/exec) and objects are fetched with the git CLI
// (measured here: ls-remote 4 ms with go-git vs 42 ms forking git; incremental fetch of 5
// commits on 300, 56 ms with the CLI vs 73 ms with go-git).

func benchRepo(b *testing.B, commits int) *testservers.GitServer {
	b.Helper()
	g, err := testservers.StartGitServer(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	if _, err := g.SeedRepo("bench", map[string]string{"README.md": "x"}); err != nil {
		b.Fatal(err)
	}
	bare := filepath.Join(g.Root, "bench.git")
	// Build history directly in the bare repository with plumbing: fast and realistic.
	script := fmt.Sprintf(`set -e
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x
p=$(git rev-parse main)
for i in $(seq 1 %d); do
  blob=$(echo "file $i" | git hash-object -w --stdin)
  tree=$(printf "100644 blob %%s\tf%%d.txt\n" $blob $((i %% 50)) | git mktree)
  p=$(git commit-tree $tree -p $p -m "commit $i")
done
git update-ref refs/heads/main $p`, commits)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = bare
	cmd.Env = append(cmd.Environ(), "GIT_DIR="+bare)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	return g
}

func BenchmarkLsRemoteGoGit(b *testing.B) {
	g := benchRepo(b, 10)
	for b.Loop() {
		rem := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{g.RepoURL("bench")}})
		if _, err := rem.ListContext(context.Background(), &git.ListOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLsRemoteCLI(b *testing.B) {
	g := benchRepo(b, 10)
	for b.Loop() {
		if out, err := exec.Command("git", "ls-remote", "--symref", g.RepoURL("bench")).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkFetch{CLI,GoGit}: a first fetch of 300 commits, then an incremental fetch
// after 5 new commits, per iteration.
func BenchmarkFetchCLI(b *testing.B) {
	g := benchRepo(b, 300)
	var initial, incremental time.Duration
	for b.Loop() {
		dir := b.TempDir()
		run := func(args ...string) {
			cmd := exec.Command("git", args...)
			cmd.Env = append(cmd.Environ(), "GIT_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
		run("init", "--bare", "--quiet")
		t0 := time.Now()
		run("fetch", "--quiet", "--no-tags", g.RepoURL("bench"), "+refs/heads/main:refs/heads/main")
		initial += time.Since(t0)
		b.StopTimer()
		addCommits(b, g)
		b.StartTimer()
		t0 = time.Now()
		run("fetch", "--quiet", "--no-tags", g.RepoURL("bench"), "+refs/heads/main:refs/heads/main")
		incremental += time.Since(t0)
	}
	report(b, initial, incremental)
}

func BenchmarkFetchGoGit(b *testing.B) {
	g := benchRepo(b, 300)
	var initial, incremental time.Duration
	for b.Loop() {
		repo, err := git.PlainInit(b.TempDir(), true)
		if err != nil {
			b.Fatal(err)
		}
		rem, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{g.RepoURL("bench")}})
		if err != nil {
			b.Fatal(err)
		}
		fetch := func() {
			err := rem.FetchContext(context.Background(), &git.FetchOptions{RefSpecs: []gitconfig.RefSpec{"+refs/heads/main:refs/heads/main"}, Tags: git.NoTags})
			if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		fetch()
		initial += time.Since(t0)
		b.StopTimer()
		addCommits(b, g)
		b.StartTimer()
		t0 = time.Now()
		fetch()
		incremental += time.Since(t0)
	}
	report(b, initial, incremental)
}

func addCommits(b *testing.B, g *testservers.GitServer) {
	for i := 0; i < 5; i++ {
		if _, err := g.Commit("bench", "main", map[string]string{fmt.Sprintf("n%d", i): "x"}, "more"); err != nil {
			b.Fatal(err)
		}
	}
}

func report(b *testing.B, initial, incremental time.Duration) {
	b.ReportMetric(float64(initial.Microseconds())/1000/float64(b.N), "initial-ms")
	b.ReportMetric(float64(incremental.Microseconds())/1000/float64(b.N), "incremental-ms")
}
