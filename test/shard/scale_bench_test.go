package shard

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/server"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/shard"
)

// The benchmarks in this file run real `haul controller` processes against the test
// API server at the sizes of a large installation. They are opt-in (HAUL_BENCH_SCALE=1,
// or `make bench-scale`): each takes minutes. Figures are recorded in docs/scale.md.

func scaleOnly(b *testing.B) {
	b.Helper()
	if os.Getenv("HAUL_BENCH_SCALE") == "" {
		b.Skip("set HAUL_BENCH_SCALE=1 (make bench-scale): minutes of set-up at installation scale")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

var (
	haulBinOnce sync.Once
	haulBin     string
	haulBinErr  error
)

// scaleBinary builds bin/haul once per test process; HAUL_BENCH_BIN names a binary to
// use instead (to compare two builds, run the benchmark once with each, interleaved).
func scaleBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("HAUL_BENCH_BIN"); bin != "" {
		return bin
	}
	haulBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "haul-scale-bin")
		if err != nil {
			haulBinErr = err
			return
		}
		haulBin, haulBinErr = testservers.BuildHaul(dir, "../..")
	})
	if haulBinErr != nil {
		b.Fatal(haulBinErr)
	}
	return haulBin
}

// rssMiB is a process's resident set size, from /proc.
func rssMiB(b *testing.B, pid int) float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// freeAddr picks a free loopback address for one of a controller's listeners.
func freeAddr(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// metricsFlag gives a controller a /metrics listener and returns the flag and its URL.
func metricsFlag(b *testing.B) (flag, url string) {
	addr := freeAddr(b)
	return "--metrics-bind-address=" + addr, "http://" + addr + "/metrics"
}

// pprofFlag gives a controller a /debug/pprof listener and returns the flag and the
// URL of its profiles.
func pprofFlag(b *testing.B) (flag, url string) {
	addr := freeAddr(b)
	return "--pprof-bind-address=" + addr, "http://" + addr + "/debug/pprof"
}

// apiRequests sums a controller's client requests to the API server by method, from
// its rest_client_requests_total.
func apiRequests(b *testing.B, metricsURL string) map[string]float64 {
	b.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `method="`)
		method, _, _ := strings.Cut(rest, `"`)
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[method] += v
		}
	}
	return out
}

func writes(m map[string]float64) float64 { return m["POST"] + m["PUT"] + m["PATCH"] + m["DELETE"] }

// saveProfile fetches a 30 s CPU profile (HAUL_BENCH_PPROF=dir) while the benchmark
// runs, and a goroutine dump 10 s in.
func saveProfile(b *testing.B, url, path string) {
	go func() {
		time.Sleep(10 * time.Second)
		saveURL(strings.Replace(url, "profile?seconds=30", "goroutine?debug=1", 1), strings.TrimSuffix(path, "-cpu.pprof")+"-goroutines.txt")
	}()
	saveURL(url, path)
	b.Logf("CPU profile in %s", path)
}

// saveURL saves what a GET of url answers to path, quietly (a diagnostic aid).
func saveURL(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.ReadFrom(resp.Body)
}

// etcdDB reads the test etcd's database size and the part of it in use (what a
// compaction and defragmentation would leave), in MiB.
func etcdDB(b *testing.B) (size, inUse float64) {
	b.Helper()
	resp, err := http.Get(env.EtcdURL() + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch name {
		case "etcd_mvcc_db_total_size_in_bytes":
			size = x / (1 << 20)
		case "etcd_mvcc_db_total_size_in_use_in_bytes":
			inUse = x / (1 << 20)
		}
	}
	return size, inUse
}

// createAll creates n objects with 32 workers.
func createAll(b *testing.B, n int, mk func(i int) client.Object) {
	b.Helper()
	ctx := context.Background()
	next := atomic.Int64{}
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := env.Client.Create(ctx, mk(i)); err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		b.Fatal(*p)
	}
}

// lightSteps is a promotion that touches no remote: write a file in the Promotion's
// work dir and publish an output. It measures the controllers, not Git.
func lightSteps(stage string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		step("file-write", map[string]any{"path": "out/" + stage + ".txt", "contents": "${{ ctx.targetFreight.name }}"}),
		step("compose-output", map[string]any{"freight": "${{ ctx.targetFreight.name }}"}),
	}
}

func scaleStage(ns, name, warehouse, shardName string, steps []haulv1.PromotionStep) *haulv1.Stage {
	s := &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: haulv1.StageSpec{
			RequestedFreight: []haulv1.FreightRequest{{
				Origin:  haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: warehouse},
				Sources: haulv1.FreightSources{Direct: true},
			}},
			PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: steps}},
		},
	}
	if shardName != "" {
		s.Labels = map[string]string{shard.Label: shardName}
	}
	return s
}

func scaleFreight(ns string, i int, warehouse string) *haulv1.Freight {
	return &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040x", i)},
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: warehouse},
		Images:     []haulv1.Image{{RepoURL: "registry.example/" + warehouse, Tag: fmt.Sprintf("1.0.%d", i)}},
	}
}

// scaleProject makes a Haul Project (its namespace, labelled as the project controller
// labels it, and the Project), as an installation's projects are: retention sweeps
// Projects, and the REST API serves them. Both are deleted when b ends.
func scaleProject(b *testing.B, prefix string) string {
	b.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%100000)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{haulv1.LabelProject: "true"}}}
	must(b, env.Client.Create(ctx, ns))
	proj := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}}
	must(b, env.Client.Create(ctx, proj))
	b.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), proj)
		_ = env.Client.Delete(context.Background(), ns)
	})
	return name
}

// autoPromoteAll turns auto-promotion on for every Stage of the project.
func autoPromoteAll(b *testing.B, ns string) {
	b.Helper()
	cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(b, env.Client.Create(context.Background(), cfg))
}

// promotionWatch follows the project's Promotions through an informer (which relists
// if its watch drops) and counts, per Freight, the Stages that Succeeded with it.
type promotionWatch struct {
	mu        sync.Mutex
	succeeded map[string]map[string]bool // freight → stages
	failed    []string
	// seen, running and ended are when this process first saw each Promotion, saw it
	// Running and saw it end (the API's timestamps have only second precision).
	seen, running, ended map[string]time.Time
	changed              chan struct{}
	stop                 context.CancelFunc
}

func watchPromotions(b *testing.B, ns string) *promotionWatch {
	b.Helper()
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	inf, err := c.GetInformer(ctx, &haulv1.Promotion{})
	if err != nil {
		b.Fatal(err)
	}
	w := &promotionWatch{succeeded: map[string]map[string]bool{}, changed: make(chan struct{}, 1), stop: cancel,
		seen: map[string]time.Time{}, running: map[string]time.Time{}, ended: map[string]time.Time{}}
	see := func(obj any) {
		p, ok := obj.(*haulv1.Promotion)
		if !ok {
			return
		}
		now := time.Now()
		w.mu.Lock()
		if _, ok := w.seen[p.Name]; !ok {
			w.seen[p.Name] = now
		}
		if _, ok := w.running[p.Name]; !ok && p.Status.Phase == haulv1.PromotionRunning {
			w.running[p.Name] = now
		}
		if !p.Status.Phase.IsTerminal() {
			w.mu.Unlock()
			return
		}
		if _, ok := w.ended[p.Name]; ok {
			w.mu.Unlock()
			return
		}
		w.ended[p.Name] = now
		if p.Status.Phase == haulv1.PromotionSucceeded {
			if w.succeeded[p.Spec.Freight] == nil {
				w.succeeded[p.Spec.Freight] = map[string]bool{}
			}
			w.succeeded[p.Spec.Freight][p.Spec.Stage] = true
		} else {
			w.failed = append(w.failed, fmt.Sprintf("%s: %s: %s", p.Name, p.Status.Phase, p.Status.Message))
		}
		w.mu.Unlock()
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    see,
		UpdateFunc: func(_, n any) { see(n) },
	}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("promotion informer did not sync")
	}
	b.Cleanup(cancel)
	return w
}

// phases logs the median and 90th percentile, over the Promotions seen since from,
// of: from → created, created → Running, Running → finished.
func (w *promotionWatch) phases(b *testing.B, from time.Time) {
	b.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var created, queued, ran []time.Duration
	for name, seen := range w.seen {
		if seen.Before(from) {
			continue
		}
		created = append(created, seen.Sub(from))
		r, ok := w.running[name]
		if !ok {
			r = seen
		}
		queued = append(queued, r.Sub(seen))
		if e, ok := w.ended[name]; ok {
			ran = append(ran, e.Sub(r))
		}
	}
	q := func(d []time.Duration) string {
		if len(d) == 0 {
			return "-"
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return fmt.Sprintf("p50 %s p90 %s max %s", d[len(d)/2].Round(time.Millisecond), d[len(d)*9/10].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
	}
	b.Logf("%d Promotions: Freight → created %s; created → Running %s; Running → finished %s", len(created), q(created), q(queued), q(ran))
}

// wait blocks until want Stages Succeeded with freight, failing on a failed Promotion.
func (w *promotionWatch) wait(b *testing.B, freight string, want int, timeout time.Duration) {
	b.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		n, failed := len(w.succeeded[freight]), w.failed
		w.mu.Unlock()
		if len(failed) > 0 {
			b.Fatalf("%d Promotions did not succeed, the first: %s", len(failed), failed[0])
		}
		if n >= want {
			return
		}
		select {
		case <-w.changed:
		case <-time.After(time.Second):
		case <-deadline:
			b.Fatalf("after %s, %d of %d Stages Succeeded with %s", timeout, n, want, freight)
		}
	}
}

// waitReconciled waits until every Stage of the project has been reconciled once, so
// a measurement starts from the steady state rather than the start-up burst.
func waitReconciled(b *testing.B, ns string, want int, timeout time.Duration) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		var l haulv1.StageList
		must(b, env.Client.List(ctx, &l, client.InNamespace(ns)))
		done := 0
		for _, s := range l.Items {
			if s.Status.ObservedGeneration == s.Generation {
				done++
			}
		}
		if done >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s, %d of %d Stages reconciled", timeout, done, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// BenchmarkThousandStageFanOut: 1,000 Stages take Freight directly from one Warehouse,
// auto-promotion on; one new Freight is created and the benchmark reports the seconds
// until all 1,000 Promotions Succeeded (target ≤ 60 s on 2 cores), with one controller
// and with three (the default controller and shards a and b, a third of the Stages
// each) on the same machine. HAUL_BENCH_STAGES changes the count.
func BenchmarkThousandStageFanOut(b *testing.B) {
	scaleOnly(b)
	stages := envInt("HAUL_BENCH_STAGES", 1000)
	bin := scaleBinary(b)
	kubeconfig := writeKubeconfig(b, env.Config)
	for _, shards := range [][]string{{""}, {"", "a", "b"}} {
		b.Run(fmt.Sprintf("controllers=%d", len(shards)), func(b *testing.B) {
			ns := scaleProject(b, fmt.Sprintf("fanout-%d", len(shards)))
			autoPromoteAll(b, ns)
			createAll(b, stages, func(i int) client.Object {
				name := fmt.Sprintf("s%04d", i)
				return scaleStage(ns, name, "w", shards[i%len(shards)], lightSteps(name))
			})
			var procs []*process
			var metrics []string
			profileDir := os.Getenv("HAUL_BENCH_PPROF")
			var pprofURL string
			for _, s := range shards {
				flag, url := metricsFlag(b)
				extra := []string{flag}
				if profileDir != "" && pprofURL == "" {
					pflag, purl := pprofFlag(b)
					extra = append(extra, pflag)
					pprofURL = purl + "/profile?seconds=30"
				}
				procs = append(procs, startProcess(b, bin, kubeconfig, ns, s, extra...))
				metrics = append(metrics, url)
			}
			waitReconciled(b, ns, stages, 5*time.Minute)
			requests := func() map[string]float64 {
				sum := map[string]float64{}
				for _, u := range metrics {
					for m, v := range apiRequests(b, u) {
						sum[m] += v
					}
				}
				return sum
			}
			before := requests()
			w := watchPromotions(b, ns)
			n := 0
			var total time.Duration
			for b.Loop() {
				n++
				f := scaleFreight(ns, n, "w")
				start := time.Now()
				must(b, env.Client.Create(context.Background(), f))
				if pprofURL != "" {
					go saveProfile(b, pprofURL, filepath.Join(profileDir, fmt.Sprintf("fanout-%d-cpu.pprof", len(shards))))
				}
				w.wait(b, f.Name, stages, 10*time.Minute)
				total += time.Since(start)
				w.phases(b, start)
			}
			after := requests()
			b.Logf("API requests during the fan-outs: %v (before: %v)", after, before)
			b.ReportMetric((writes(after)-writes(before))/float64(stages*n), "api-writes/promotion")
			b.ReportMetric(total.Seconds()/float64(n), "fanout_s")
			b.ReportMetric(float64(stages)*float64(n)/total.Seconds(), "promotions/s")
			var rss float64
			for _, p := range procs {
				rss += rssMiB(b, p.cmd.Process.Pid)
			}
			b.ReportMetric(rss, "controllers_rss_MiB")
		})
	}
}

// startREST serves Haul's REST API (what the dashboard reads) in this process, with
// an admin token, and returns its URL and the token.
func startREST(b *testing.B) (string, string) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	const token = "scale-bench-admin-token"
	h, err := server.New(server.Config{Context: ctx, RestConfig: env.Config, AdminToken: token, Logger: logr.Discard(),
		UI: http.NotFoundHandler()})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(func() { ts.Close(); cancel() })
	return ts.URL, token
}

// timeGET returns how long a GET of the REST API took, body read, failing on non-200.
func timeGET(b *testing.B, url, token string) time.Duration {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := bufio.NewReader(resp.Body).WriteTo(discard{})
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
	b.Logf("GET %s: %d bytes in %s", strings.TrimPrefix(url, "http://"), n, d.Round(time.Millisecond))
	return d
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// timeCLI returns how long a `haul` command took, process start included, failing
// when it fails.
func timeCLI(b *testing.B, bin, kubeconfig string, args ...string) (time.Duration, string) {
	b.Helper()
	start := time.Now()
	out, err := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("haul %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return d, string(out)
}

// median of the durations of three runs of f.
func median3(f func() time.Duration) time.Duration {
	d := []time.Duration{f(), f(), f()}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[1]
}

// BenchmarkTenThousandPromotions runs HAUL_BENCH_PROMOTIONS (default 10,000)
// Promotions, each for a new Freight, in sequence on each of ten Stages (ten
// Stages at a time), with retention on: 20 terminal Promotions per Stage and the
// newest 10 Freight per Warehouse kept, swept every 15 s. It reports the controller's
// RSS after the first fifth and at the end and their difference (target: flat within
// 10 %), etcd's database size, the Promotions and Freight left, and how long
// `haul get promotions` and the dashboard's Freight and Promotion lists take at the
// end (target < 1 s).
func BenchmarkTenThousandPromotions(b *testing.B) {
	scaleOnly(b)
	total := envInt("HAUL_BENCH_PROMOTIONS", 10_000)
	const pipelines = 10
	bin := scaleBinary(b)
	kubeconfig := writeKubeconfig(b, env.Config)
	ns := scaleProject(b, "history")
	autoPromoteAll(b, ns)
	for p := range pipelines {
		name := fmt.Sprintf("s%d", p)
		must(b, env.Client.Create(context.Background(), scaleStage(ns, name, fmt.Sprintf("w%d", p), "", lightSteps(name))))
	}
	flags := []string{"--retention-promotions-per-stage=20", "--retention-freight-per-warehouse=10",
		"--retention-min-freight-age=1s", "--retention-interval=15s"}
	profileDir := os.Getenv("HAUL_BENCH_PPROF")
	var heapURL string
	if profileDir != "" {
		pflag, purl := pprofFlag(b)
		flags = append(flags, pflag)
		heapURL = purl + "/heap"
	}
	proc := startProcess(b, bin, kubeconfig, ns, "", flags...)
	pid := proc.cmd.Process.Pid
	waitReconciled(b, ns, pipelines, time.Minute)
	w := watchPromotions(b, ns)

	type sample struct {
		done            int
		rss, db, dbUsed float64
	}
	var samples []sample
	var done atomic.Int64
	var mu sync.Mutex
	record := func() {
		d := int(done.Load())
		size, used := etcdDB(b)
		s := sample{done: d, rss: rssMiB(b, pid), db: size, dbUsed: used}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
		b.Logf("%6d Promotions: controller RSS %.0f MiB, etcd db %.0f MiB (%.0f MiB in use)", s.done, s.rss, s.db, s.dbUsed)
		if heapURL != "" {
			saveURL(heapURL, filepath.Join(profileDir, fmt.Sprintf("history-heap-%06d.pprof", s.done)))
		}
	}
	perPipeline := total / pipelines
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-t.C:
					record()
				}
			}
		}()
		var wg sync.WaitGroup
		for p := range pipelines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range perPipeline {
					f := scaleFreight(ns, 1_000_000*(p+1)+k, fmt.Sprintf("w%d", p))
					must(b, env.Client.Create(context.Background(), f))
					w.wait(b, f.Name, 1, 2*time.Minute)
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		close(stopSampling)
		<-sampled
		elapsed = time.Since(start)
	}
	// Let one more sweep run, then read the state the last sweep left.
	time.Sleep(20 * time.Second)
	record()
	if len(samples) < 3 {
		b.Logf("only %d samples: the run is too short to judge whether RSS stays flat", len(samples))
	}
	base := samples[len(samples)/5]
	last := samples[len(samples)-1]
	peak := 0.0
	for _, s := range samples[len(samples)/5:] {
		peak = max(peak, s.rss)
	}
	var promos haulv1.PromotionList
	must(b, env.Client.List(context.Background(), &promos, client.InNamespace(ns)))
	var freight haulv1.FreightList
	must(b, env.Client.List(context.Background(), &freight, client.InNamespace(ns)))
	// Retention must have kept the project bounded, or the figures measure nothing.
	if len(promos.Items) > pipelines*40 || len(freight.Items) > pipelines*40 {
		b.Errorf("retention left %d Promotions and %d Freight; want about %d of each", len(promos.Items), len(freight.Items), pipelines*20)
	}
	// What etcd holds beyond the bounded objects: the Events of the Promotions, which
	// the API server keeps for its --event-ttl (an hour by default).
	var events corev1.EventList
	must(b, env.Client.List(context.Background(), &events, client.InNamespace(ns), client.Limit(1)))
	eventsLeft := len(events.Items)
	if events.RemainingItemCount != nil {
		eventsLeft += int(*events.RemainingItemCount)
	}
	getPromotions := median3(func() time.Duration {
		d, _ := timeCLI(b, bin, kubeconfig, "get", "promotions", "-p", ns)
		return d
	})
	getArchived := median3(func() time.Duration {
		d, _ := timeCLI(b, bin, kubeconfig, "get", "promotions", "-p", ns, "--archived")
		return d
	})
	url, token := startREST(b)
	freightList := median3(func() time.Duration { return timeGET(b, url+"/api/v1/projects/"+ns+"/freight", token) })
	promotionList := median3(func() time.Duration { return timeGET(b, url+"/api/v1/projects/"+ns+"/promotions", token) })

	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "promotions/s")
	b.ReportMetric(base.rss, "rss_after_fifth_MiB")
	b.ReportMetric(last.rss, "rss_end_MiB")
	b.ReportMetric(100*(peak-base.rss)/base.rss, "rss_growth_%")
	b.ReportMetric(base.dbUsed, "etcd_in_use_after_fifth_MiB")
	b.ReportMetric(last.dbUsed, "etcd_in_use_end_MiB")
	b.ReportMetric(last.db, "etcd_db_end_MiB")
	b.ReportMetric(float64(len(promos.Items)), "promotions_left")
	b.ReportMetric(float64(len(freight.Items)), "freight_left")
	b.ReportMetric(float64(eventsLeft), "events_left")
	b.ReportMetric(float64(getPromotions.Milliseconds()), "get_promotions_ms")
	b.ReportMetric(float64(getArchived.Milliseconds()), "get_promotions_archived_ms")
	b.ReportMetric(float64(freightList.Milliseconds()), "rest_freight_ms")
	b.ReportMetric(float64(promotionList.Milliseconds()), "rest_promotions_ms")
}

// BenchmarkHundredThousandFreight holds HAUL_BENCH_FREIGHT_HELD (default 100,000)
// Freight from ten Warehouses, retention off, with one controller and a Stage on
// each Warehouse; it reports the controller's RSS once settled (target < 1 GiB), how
// long `haul get freight` and `haul get stages` take, the dashboard's Freight list
// for one Warehouse and for the project, and a Promotion of a new Freight among them.
// The Freight is deleted at the end, so that later benchmarks in the same process do
// not cache it.
func BenchmarkHundredThousandFreight(b *testing.B) {
	scaleOnly(b)
	total := envInt("HAUL_BENCH_FREIGHT_HELD", 100_000)
	const warehouses = 10
	bin := scaleBinary(b)
	kubeconfig := writeKubeconfig(b, env.Config)
	ns := scaleProject(b, "held")
	b.Cleanup(func() {
		_ = env.Client.DeleteAllOf(context.Background(), &haulv1.Freight{}, client.InNamespace(ns))
	})
	for p := range warehouses {
		name := fmt.Sprintf("s%d", p)
		must(b, env.Client.Create(context.Background(), scaleStage(ns, name, fmt.Sprintf("w%d", p), "", lightSteps(name))))
	}
	proc := startProcess(b, bin, kubeconfig, ns, "")
	pid := proc.cmd.Process.Pid
	waitReconciled(b, ns, warehouses, time.Minute)
	start := time.Now()
	createAll(b, total, func(i int) client.Object { return scaleFreight(ns, i, fmt.Sprintf("w%d", i%warehouses)) })
	b.Logf("created %d Freight in %s", total, time.Since(start).Round(time.Second))
	// Settled: RSS stops growing for 20 s.
	peak, last := 0.0, 0.0
	for stable := 0; stable < 2; {
		time.Sleep(10 * time.Second)
		r := rssMiB(b, pid)
		peak = max(peak, r)
		if r <= last*1.02 {
			stable++
		} else {
			stable = 0
		}
		last = r
		b.Logf("controller RSS %.0f MiB", r)
	}
	w := watchPromotions(b, ns)
	var promote time.Duration
	n := 0
	for b.Loop() {
		n++
		// A Promotion is still quick with 100,000 Freight in every cache.
		must(b, env.Client.Create(context.Background(), &haulv1.Promotion{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("manual-%d", n)},
			Spec:       haulv1.PromotionSpec{Stage: "s0", Freight: scaleFreight(ns, total-warehouses*n, "w0").Name},
		}))
		t0 := time.Now()
		w.wait(b, scaleFreight(ns, total-warehouses*n, "w0").Name, 1, 2*time.Minute)
		promote += time.Since(t0)
	}
	getFreight := median3(func() time.Duration {
		d, _ := timeCLI(b, bin, kubeconfig, "get", "freight", "-p", ns)
		return d
	})
	getStages := median3(func() time.Duration {
		d, _ := timeCLI(b, bin, kubeconfig, "get", "stages", "-p", ns)
		return d
	})
	url, token := startREST(b)
	oneOrigin := median3(func() time.Duration { return timeGET(b, url+"/api/v1/projects/"+ns+"/freight?origin=w0", token) })
	all := median3(func() time.Duration { return timeGET(b, url+"/api/v1/projects/"+ns+"/freight", token) })
	b.ReportMetric(rssMiB(b, pid), "rss_settled_MiB")
	b.ReportMetric(peak, "rss_peak_MiB")
	b.ReportMetric(float64(promote.Milliseconds())/float64(n), "promotion_ms")
	b.ReportMetric(float64(getFreight.Milliseconds()), "get_freight_ms")
	b.ReportMetric(float64(getStages.Milliseconds()), "get_stages_ms")
	b.ReportMetric(float64(oneOrigin.Milliseconds()), "rest_freight_one_warehouse_ms")
	b.ReportMetric(float64(all.Milliseconds()), "rest_freight_all_ms")
}
