package warehouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// benchTags makes n tags: mostly semver (some with v prefixes and pre-releases), plus
// the noise real registries hold (sha tags, "latest", branch builds).
func benchTags(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	tags := make([]string, n)
	for i := range tags {
		switch rng.IntN(10) {
		case 0:
			tags[i] = fmt.Sprintf("sha-%016x", rng.Uint64())
		case 1:
			tags[i] = fmt.Sprintf("v%d.%d.%d-rc.%d", rng.IntN(20), rng.IntN(50), rng.IntN(100), rng.IntN(9))
		case 2:
			tags[i] = fmt.Sprintf("main-%d", i)
		default:
			tags[i] = fmt.Sprintf("%d.%d.%d", rng.IntN(20), rng.IntN(50), rng.IntN(100))
		}
	}
	return tags
}

func benchmarkSemVer(b *testing.B, n int) {
	tags := benchTags(n)
	sel, err := NewTagSelector(TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Constraint: ">=1.0.0", Limit: 100, IgnoreTagsRegexes: []string{"^sha-"}})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for b.Loop() {
		if got := sel.Select(tags); len(got) != 100 {
			b.Fatalf("selected %d", len(got))
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/select")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/select")
}

// BenchmarkSemVerSelection10k: target < 200 ms.
func BenchmarkSemVerSelection10k(b *testing.B) { benchmarkSemVer(b, 10_000) }

// BenchmarkSemVerSelection100k: target < 2 s and < 100 MiB extra.
func BenchmarkSemVerSelection100k(b *testing.B) { benchmarkSemVer(b, 100_000) }

// BenchmarkQuietImagePoll measures a poll that finds nothing new against a registry
// holding 1,000 tags: the target is one registry request per subscription.
func BenchmarkQuietImagePoll(b *testing.B) {
	reg, err := testservers.StartRegistry()
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	if err := pushManyTags(reg, "bench", 1000); err != nil {
		b.Fatal(err)
	}
	var requests atomic.Int64
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); h.ServeHTTP(w, r) })
	}
	d := New(Options{CacheDir: b.TempDir(), RegistryRPS: 1000})
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: reg.Repo("bench")}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Discover(context.Background()); err != nil {
		b.Fatal(err)
	}
	requests.Store(0)
	for b.Loop() {
		if _, err := s.Discover(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(requests.Load())/float64(b.N), "registry-requests/poll")
}

// pushManyTags pushes one image and points n semver tags at it (manifest PUTs only).
func pushManyTags(reg *testservers.Registry, repo string, n int) error {
	img, err := testservers.RandomImage(testservers.ImageOptions{Created: time.Now()})
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		ref, err := name.ParseReference(fmt.Sprintf("%s:1.%d.%d", reg.Repo(repo), i/100, i%100), name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img); err != nil {
			return err
		}
	}
	return nil
}
