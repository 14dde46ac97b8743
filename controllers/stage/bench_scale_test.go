package stage_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// BenchmarkNewFreightAtScale builds 100 pipelines of 10 Stages (1,000 Stages) with
// HAUL_BENCH_FREIGHT Freight spread over their 100 Warehouses (default 2,000; the issue's
// figure is for 10,000), auto-promotion on for pipeline 0 only, and measures how long a
// new Freight for that pipeline's Warehouse takes to get a Promotion to its first Stage
// and to be held there. It also reports API writes during 3 idle seconds and the test
// process's heap (Stage and Promotion controllers plus informer caches). Opt-in with
// HAUL_BENCH_SCALE=1, since the set-up alone takes a minute or more.
func BenchmarkNewFreightAtScale(b *testing.B) {
	if os.Getenv("HAUL_BENCH_SCALE") == "" {
		b.Skip("set HAUL_BENCH_SCALE=1 (and optionally HAUL_BENCH_FREIGHT=10000): setting up 1,000 Stages takes minutes")
	}
	const pipelines, perPipeline = 100, 10
	total := 2000
	if v, err := strconv.Atoi(os.Getenv("HAUL_BENCH_FREIGHT")); err == nil && v > 0 {
		total = v
	}
	startManager(b)
	ns := env.Namespace(b, fmt.Sprintf("bench-scale-%d", time.Now().UnixNano()%100000))
	cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "regex:^p0-"}, AutoPromotionEnabled: true}}
	must(b, env.Client.Create(ctx, cfg))

	origin := func(p int) haulv1.FreightOrigin {
		return haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: fmt.Sprintf("wh-%d", p)}
	}
	parallel(b, pipelines*perPipeline, func(i int) error {
		p, k := i/perPipeline, i%perPipeline
		s := newStage(ns, fmt.Sprintf("p%d-s%d", p, k))
		s.Spec.RequestedFreight[0].Origin = origin(p)
		if k > 0 {
			s.Spec.RequestedFreight[0].Sources = haulv1.FreightSources{Stages: []string{fmt.Sprintf("p%d-s%d", p, k-1)}}
		}
		return env.Client.Create(ctx, s)
	})
	start := time.Now()
	parallel(b, total, func(i int) error {
		p := i % pipelines
		f := &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040x", 1_000_000+i)},
			Origin:     origin(p),
			Images:     []haulv1.Image{{RepoURL: "registry.example/app-" + strconv.Itoa(p), Tag: fmt.Sprintf("1.0.%d", i)}},
		}
		return env.Client.Create(ctx, f)
	})
	b.Logf("created %d Stages and %d Freight in %s", pipelines*perPipeline, total, time.Since(start).Round(time.Millisecond))
	// Pipeline 0's newest Freight cascades through its ten Stages first.
	waitUntil(b, 3*time.Minute, "pipeline 0 to settle", func() bool {
		s := getStage(b, ns, fmt.Sprintf("p0-s%d", perPipeline-1))
		return anyCurrent(s) != ""
	})

	var toPromotion, toHeld []time.Duration
	n := 0
	for b.Loop() {
		n++
		f := &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040x", 9_000_000+n)},
			Origin:     origin(0),
			Images:     []haulv1.Image{{RepoURL: "registry.example/app-0", Tag: fmt.Sprintf("9.0.%d", n)}},
		}
		t0 := time.Now()
		must(b, env.Client.Create(ctx, f))
		var promoted bool
		waitUntil(b, time.Minute, "the first stage to hold the new Freight", func() bool {
			if !promoted {
				var list haulv1.PromotionList
				must(b, env.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelFreight: f.Name}))
				if len(list.Items) > 0 {
					promoted = true
					toPromotion = append(toPromotion, time.Since(t0))
				}
			}
			return anyCurrent(getStage(b, ns, "p0-s0")) == f.Name
		})
		toHeld = append(toHeld, time.Since(t0))
	}
	// Idle: once the start-up backlog has drained, three quiet seconds must see no writes.
	var idleWrites int64 = -1
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		w0 := writes.Load()
		time.Sleep(3 * time.Second)
		if idleWrites = writes.Load() - w0; idleWrites == 0 {
			break
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(p50(toPromotion).Seconds()*1000, "ms-freight-to-promotion-p50")
	b.ReportMetric(p50(toHeld).Seconds()*1000, "ms-freight-to-first-stage-p50")
	b.ReportMetric(float64(idleWrites), "idle-writes-3s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
}

// parallel runs n creations with a few workers, failing on the first error.
func parallel(b *testing.B, n int, create func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := create(i); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// anyCurrent is the Freight a single-origin Stage holds, whatever its origin.
func anyCurrent(s *haulv1.Stage) string {
	if len(s.Status.FreightHistory) == 0 {
		return ""
	}
	for _, it := range s.Status.FreightHistory[0].Items {
		return it.Name
	}
	return ""
}
