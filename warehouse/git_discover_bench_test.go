package warehouse

import (
	"context"
	"fmt"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// BenchmarkGitDiscovery measures what a Warehouse poll of a 300-commit repository
// costs through the Discoverer: a quiet poll (refs unchanged: one in-process ls-remote)
// and a poll after a new commit (ls-remote, incremental fetch, log). It is the figure
// to keep when the git layer under discovery changes.
func BenchmarkGitDiscovery(b *testing.B) {
	g := benchRepo(b, 300)
	d := New(Options{CacheDir: b.TempDir()})
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("bench")}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Discover(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("quiet", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Discover(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-commit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			want, err := g.Commit("bench", "main", map[string]string{fmt.Sprintf("n%d", i): "x"}, "more")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := s.Discover(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if res.Commits[0].ID != want {
				b.Fatalf("discovered %s, want %s", res.Commits[0].ID, want)
			}
		}
	})
}
