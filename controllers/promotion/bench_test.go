package promotion_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// sixSteps is the Kargo comparison template: clone main and an orphan stage branch,
// clear, set image, render with kustomize, commit and push.
func sixSteps(repo, stage string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{
			map[string]any{"branch": "main", "path": "src"},
			map[string]any{"branch": "stage/" + stage, "create": true, "path": "out"}}}),
		rawStep("git-clear", "clear", map[string]any{"path": "out"}),
		rawStep("kustomize-set-image", "set", map[string]any{"path": "src/stages/" + stage}),
		rawStep("kustomize-build", "build", map[string]any{"path": "src/stages/" + stage, "outPath": "out/manifests.yaml"}),
		rawStep("git-commit", "commit", map[string]any{"path": "out", "message": "promote ${{ ctx.targetFreight.name }}"}),
		rawStep("git-push", "push", map[string]any{"path": "out"}),
	}
}

func waitSucceeded(b *testing.B, ns, name string, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	for {
		p := &haulv1.Promotion{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err == nil && p.Status.Phase.IsTerminal() {
			if p.Status.Phase != haulv1.PromotionSucceeded {
				b.Fatalf("%s: %s: %s", name, p.Status.Phase, p.Status.Message)
			}
			return time.Now()
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// promoteAndWatch creates a Promotion and returns how long it took from the create call
// until a watch saw it Succeeded. The watch (not polling) keeps the measurement from
// loading the API server or adding a polling interval.
func promoteAndWatch(b testing.TB, wc client.WithWatch, ns, stage, freight string, timeout time.Duration) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	w, err := wc.Watch(ctx, &haulv1.PromotionList{}, client.InNamespace(ns))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	name := promote(b, ns, stage, freight)
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*haulv1.Promotion)
		if !ok || p.Name != name || !p.Status.Phase.IsTerminal() {
			continue
		}
		if p.Status.Phase != haulv1.PromotionSucceeded {
			b.Fatalf("%s: %s: %s", name, p.Status.Phase, p.Status.Message)
		}
		return time.Since(start)
	}
	b.Fatalf("timed out waiting for %s", name)
	return 0
}

// freightSettle is how long BenchmarkPromotionCreatedToSucceeded lets the controllers
// handle a new Freight before it creates the Promotion it times.
const freightSettle = 250 * time.Millisecond

// samplesPerOp is how many Promotions one benchmark iteration times, so that p50 and
// p99 mean something even with -benchtime 1x (as make bench runs).
const samplesPerOp = 30

// BenchmarkPromotionCreatedToSucceeded measures Promotions of the six-step template
// through the real API server, from create to Succeeded, one after another.
func BenchmarkPromotionCreatedToSucceeded(b *testing.B) {
	ns := env.Namespace(b, fmt.Sprintf("bench-six-%d", time.Now().UnixNano()%100000))
	_, repo := seedGitops(b, "dev", "test", "prod")
	startController(b, b.TempDir())
	makeStage(b, ns, "test", sixSteps(repo, "test"))
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	var d []time.Duration
	i := 0
	run := func() time.Duration {
		i++
		fname := fmt.Sprintf("%012x", i)
		makeFreight(b, ns, fname, fmt.Sprintf("1.0.%d", i))
		// The Stage controller takes note of new Freight; the clock measures the
		// Promotion alone, so it starts once that is done.
		time.Sleep(freightSettle)
		return promoteAndWatch(b, wc, ns, "test", fname, 60*time.Second)
	}
	run() // warm the Git cache
	for b.Loop() {
		for range samplesPerOp {
			d = append(d, run())
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Milliseconds()), "p50_ms")
	b.ReportMetric(float64(d[(len(d)-1)*99/100].Milliseconds()), "p99_ms")
}

// BenchmarkHundredStages promotes 100 Stages once each and reports the wall time until
// all have Succeeded.
func BenchmarkHundredStages(b *testing.B) {
	for b.Loop() {
		ns := env.Namespace(b, fmt.Sprintf("bench-100-%d", time.Now().UnixNano()%100000))
		var stages []string
		for i := range 100 {
			stages = append(stages, fmt.Sprintf("s%03d", i))
		}
		_, repo := seedGitops(b, stages...)
		stop := startController(b, b.TempDir())
		makeFreight(b, ns, "f00000000001", "9.9.9")
		for _, s := range stages {
			makeStage(b, ns, s, sixSteps(repo, s))
		}
		start := time.Now()
		var names []string
		for _, s := range stages {
			names = append(names, promote(b, ns, s, "f00000000001"))
		}
		for _, n := range names {
			waitSucceeded(b, ns, n, 120*time.Second)
		}
		b.ReportMetric(time.Since(start).Seconds(), "total_s")
		stop()
	}
}
