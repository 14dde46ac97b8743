package promotion_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// samplesPerOp is how many Promotions one benchmark iteration times, so that p50 and
// p99 mean something even with -benchtime 1x (as make bench runs).
const samplesPerOp = 30

// reportPercentiles adds p50_ms and p99_ms metrics from per-iteration durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}

func benchRun(b testing.TB, e *promotion.Engine, steps []haulv1.PromotionStep, fr haulv1.FreightReference) time.Duration {
	dir, err := os.MkdirTemp("", "haul-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	defer e.Services.Git.Reclaim(dir)
	start := time.Now()
	res, _ := e.Run(context.Background(), promotion.Request{Stage: "test", Promotion: "p", Freight: fr, Steps: steps, WorkDir: dir})
	took := time.Since(start)
	if res.Phase != haulv1.PromotionSucceeded {
		b.Fatalf("%s: %s", res.Phase, res.Message)
	}
	return took
}

// BenchmarkSixStepPromotion runs the six-step template (clone main and an orphan stage
// branch, clear, set image, kustomize build, commit, push) on a three-overlay repo.
func BenchmarkSixStepPromotion(b *testing.B) {
	_, repo := gitopsRepo(b, "dev", "test", "prod")
	e := newEngine(b)
	benchRun(b, e, sixSteps(repo, "test"), freight("0.0.1")) // warm the cache
	var d []time.Duration
	i := 0
	for b.Loop() {
		for range samplesPerOp {
			i++
			d = append(d, benchRun(b, e, sixSteps(repo, "test"), freight(fmt.Sprintf("1.0.%d", i))))
		}
	}
	reportPercentiles(b, d)
}

// BenchmarkLargeRepoPromotion promotes into a 2,000-file repository with a warm cache:
// fetch + checkout, kustomize-set-image, commit, push.
func BenchmarkLargeRepoPromotion(b *testing.B) {
	srv, repo := gitopsRepo(b, "test")
	files := map[string]string{}
	for i := range 2000 {
		files[fmt.Sprintf("apps/app%02d/manifest-%04d.yaml", i%40, i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  k: v%d\n", i, i)
	}
	if _, err := srv.Commit("gitops", "main", files, "2000 files"); err != nil {
		b.Fatal(err)
	}
	e := newEngine(b)
	steps := editSteps(repo, "test", "main")
	benchRun(b, e, steps, freight("0.0.1"))
	var d []time.Duration
	i := 0
	for b.Loop() {
		for range samplesPerOp {
			i++
			d = append(d, benchRun(b, e, steps, freight(fmt.Sprintf("2.0.%d", i))))
		}
	}
	reportPercentiles(b, d)
}
