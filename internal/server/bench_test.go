package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

const (
	benchProject = "bench"
	benchStages  = 1000
	benchFreight = 5000
)

var benchOnce sync.Once

// setupBench creates, once, a project with 1,000 Stages (a tree fed by one Warehouse,
// each with a three-step promotion template) and 5,000 Freight.
func setupBench(b *testing.B) {
	b.Helper()
	startServer(b)
	benchOnce.Do(func() {
		start := time.Now()
		createProject(b, benchProject, false)
		createYAML(b, pipelineYAML(benchProject))
		cfg := func(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }
		objs := make(chan client.Object, 64)
		var wg sync.WaitGroup
		var errOnce sync.Once
		var firstErr error
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for o := range objs {
					if err := env.Client.Create(context.Background(), o); err != nil {
						errOnce.Do(func() { firstErr = err })
					}
				}
			}()
		}
		for i := range benchStages {
			src := haulv1.FreightSources{Direct: true}
			if i > 0 {
				src = haulv1.FreightSources{Stages: []string{fmt.Sprintf("s%04d", (i-1)/3)}}
			}
			objs <- &haulv1.Stage{
				ObjectMeta: metav1.ObjectMeta{Namespace: benchProject, Name: fmt.Sprintf("s%04d", i)},
				Spec: haulv1.StageSpec{
					RequestedFreight: []haulv1.FreightRequest{{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}, Sources: src}},
					PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
						{Uses: "git-clone", Config: cfg(`{"repoURL":"http://git.example.com/app.git","checkout":[{"branch":"main","path":"src"},{"branch":"stage/x","create":true,"path":"out"}]}`)},
						{Uses: "kustomize-set-image", Config: cfg(`{"path":"src/overlays/x","images":[{"image":"registry.example.com/app"}]}`)},
						{Uses: "git-push", Config: cfg(`{"path":"out","targetBranch":"stage/x"}`)},
					}}},
				},
			}
		}
		for i := range benchFreight {
			objs <- &haulv1.Freight{
				ObjectMeta: metav1.ObjectMeta{Namespace: benchProject, Name: fmt.Sprintf("%040x", i+1)},
				Alias:      fmt.Sprintf("freight-%05d", i),
				Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
				Images: []haulv1.Image{
					{RepoURL: "registry.example.com/app", Tag: fmt.Sprintf("1.%d.0", i), Digest: fmt.Sprintf("sha256:%064x", i)},
					{RepoURL: "registry.example.com/api", Tag: fmt.Sprintf("2.%d.0", i), Digest: fmt.Sprintf("sha256:%064x", i+1<<20)},
				},
			}
		}
		close(objs)
		wg.Wait()
		if firstErr != nil {
			b.Fatalf("creating benchmark objects: %v", firstErr)
		}
		// Wait until the server's cache holds everything.
		viewer := idToken(b, "viewer@bench.test")
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var l struct{ Items []any }
			_, body := call(b, "GET", "/api/v1/projects/bench/freight", viewer, "", "")
			_ = jsonUnmarshal(body, &l)
			if len(l.Items) == benchFreight {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("server lists %d of %d Freight", len(l.Items), benchFreight)
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.Logf("created %d Stages and %d Freight in %s", benchStages, benchFreight, time.Since(start).Round(time.Millisecond))
	})
}

// percentile returns the p-th percentile of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchList measures GET path as a project viewer.
func benchList(b *testing.B, path string, want int) {
	setupBench(b)
	viewer := idToken(b, "viewer@bench.test")
	var ds []time.Duration
	var size int
	b.ResetTimer()
	for b.Loop() {
		for range 20 {
			t0 := time.Now()
			code, body := call(b, "GET", path, viewer, "", "")
			ds = append(ds, time.Since(t0))
			if code != http.StatusOK {
				b.Fatalf("GET %s: %d %s", path, code, body)
			}
			size = len(body)
		}
	}
	var l struct{ Items []any }
	_, body := call(b, "GET", path, viewer, "", "")
	_ = jsonUnmarshal(body, &l)
	if len(l.Items) != want {
		b.Fatalf("GET %s listed %d items, want %d", path, len(l.Items), want)
	}
	b.ReportMetric(ms(percentile(ds, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(ds, 0.99)), "p99-ms")
	b.ReportMetric(float64(size)/1e6, "MB/response")
}

// BenchmarkListStages lists 1,002 Stages of one project (target: p50 < 200 ms).
func BenchmarkListStages(b *testing.B) {
	benchList(b, "/api/v1/projects/bench/stages", benchStages+2) // and test, uat
}

// BenchmarkListFreight lists 5,000 Freight of one project, newest first.
func BenchmarkListFreight(b *testing.B) {
	benchList(b, "/api/v1/projects/bench/freight", benchFreight)
}

// BenchmarkEventsPromotions creates 50 Promotions a second in the 1,000-stage project
// and measures how many reach an event-stream subscriber per second and how late.
func BenchmarkEventsPromotions(b *testing.B) {
	setupBench(b)
	const rate, seconds = 50, 4
	total := rate * seconds
	viewer := idToken(b, "viewer@bench.test")
	for b.Loop() {
		ch := subscribe(b, benchProject, viewer, "")
		time.Sleep(300 * time.Millisecond)
		var mu sync.Mutex
		created := map[string]time.Time{}
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		begin := time.Now()
		run := fmt.Sprintf("%d", time.Now().UnixNano())
		for i := range total {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("s%04d.%s.%04d", i%benchStages, run, i)
				p := &haulv1.Promotion{
					ObjectMeta: metav1.ObjectMeta{Namespace: benchProject, Name: name},
					Spec:       haulv1.PromotionSpec{Stage: fmt.Sprintf("s%04d", i%benchStages), Freight: fmt.Sprintf("%040x", i%benchFreight+1)},
				}
				if err := env.Client.Create(context.Background(), p); err != nil {
					b.Errorf("creating Promotion: %v", err)
					return
				}
				mu.Lock()
				created[name] = time.Now()
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		createdIn := time.Since(begin)
		var lags []time.Duration
		var last time.Time
		timeout := time.After(30 * time.Second)
		seen := map[string]bool{}
	recv:
		for len(seen) < total {
			select {
			case ev, ok := <-ch:
				if !ok {
					b.Fatal("event stream closed")
				}
				now := ev.at
				if ev.event != "changes" {
					continue
				}
				for _, c := range ev.changes(b) {
					name, _ := c["name"].(string)
					mu.Lock()
					at, ok := created[name]
					mu.Unlock()
					if c["kind"] == "Promotion" && ok && !seen[name] {
						seen[name] = true
						// An event can beat the Create call's return; count that as no lag.
						lags = append(lags, max(0, now.Sub(at)))
						last = now
					}
				}
			case <-timeout:
				break recv
			}
		}
		if len(seen) < total {
			b.Fatalf("only %d of %d Promotions arrived on the event stream", len(seen), total)
		}
		b.ReportMetric(float64(total)/createdIn.Seconds(), "created/s")
		b.ReportMetric(float64(len(seen))/last.Sub(begin).Seconds(), "delivered/s")
		b.ReportMetric(ms(percentile(lags, 0.5)), "lag-p50-ms")
		b.ReportMetric(ms(percentile(lags, 0.99)), "lag-p99-ms")
		b.ReportMetric(ms(percentile(lags, 1)), "lag-max-ms")
	}
}
