package stage_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// BenchmarkRefreshToProd measures the headline workload: a new image tag,
// a Warehouse refresh, then auto-promotion through test → uat → prod, each stage running
// git-clone, git-clear, kustomize-set-image, kustomize-build, git-commit and git-push to
// stage/<name> (no reconciler, no verification). It reports the p50 from the refresh
// to the tag appearing on stage/prod, and from the refresh to the Freight existing, and
// the API writes, status writes and write conflicts the controllers made per release.
func BenchmarkRefreshToProd(b *testing.B) {
	startManager(b)
	ns := project(b, fmt.Sprintf("bench-refresh-%d", time.Now().UnixNano()%100000), true)
	reg, err := testservers.StartRegistry()
	must(b, err)
	defer reg.Close()
	git, err := testservers.StartGitServer(b.TempDir())
	must(b, err)
	defer git.Close()
	repo := reg.Repo("app")
	_, err = reg.PushImage("app", "1.0.0", testservers.ImageOptions{})
	must(b, err)
	_, err = git.SeedRepo("deploy", map[string]string{
		"base/kustomization.yaml": "resources:\n- deployment.yaml\n",
		"base/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n" +
			"  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: " + repo + ":0.0.0\n",
	})
	must(b, err)
	wh := &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: time.Hour},
			Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: repo, DiscoveryLimit: 20}}}}}
	must(b, env.Client.Create(ctx, wh))
	stageNames := []string{"test", "uat", "prod"}
	for i, name := range stageNames {
		s := newStage(ns, name)
		if i > 0 {
			s.Spec.RequestedFreight[0].Sources = haulv1.FreightSources{Stages: []string{stageNames[i-1]}}
		}
		s.Spec.PromotionTemplate.Spec.Steps = []haulv1.PromotionStep{
			{Uses: "git-clone", Config: rawJSON(map[string]any{"repoURL": git.RepoURL("deploy"), "checkout": []any{
				map[string]any{"branch": "main", "path": "src"},
				map[string]any{"branch": "stage/" + name, "create": true, "path": "out"}}})},
			{Uses: "git-clear", Config: rawJSON(map[string]any{"path": "out"})},
			{Uses: "kustomize-set-image", Config: rawJSON(map[string]any{"path": "src/base", "images": []any{map[string]any{"image": repo}}})},
			{Uses: "kustomize-build", Config: rawJSON(map[string]any{"path": "src/base", "outPath": "out/manifests.yaml"})},
			{Uses: "git-commit", Config: rawJSON(map[string]any{"path": "out", "message": "promote"})},
			{Uses: "git-push", Config: rawJSON(map[string]any{"path": "out", "targetBranch": "stage/" + name})},
		}
		must(b, env.Client.Create(ctx, s))
	}
	inProd := func(tag string) bool {
		out, err := git.Show("deploy", "stage/prod", "manifests.yaml")
		return err == nil && strings.Contains(out, repo+":"+tag)
	}
	waitUntil(b, 2*time.Minute, "1.0.0 on stage/prod", func() bool { return inProd("1.0.0") })

	// The clock stops when the push that puts the tag on stage/prod has been answered
	// (the server's push hook) and when a watch delivers the new Freight. Polling the
	// repository and listing Freight every few milliseconds, as this benchmark first
	// did, loaded the two cores it measures and added its own polling interval.
	type landed struct {
		tag string
		at  time.Time
	}
	var want atomic.Pointer[string]
	pushed := make(chan landed, 8)
	git.OnPush(func(name string) {
		if t := want.Load(); t != nil && name == "deploy" && inProd(*t) {
			pushed <- landed{*t, time.Now()}
		}
	})
	defer git.OnPush(nil)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	must(b, err)
	fw, err := wc.Watch(ctx, &haulv1.FreightList{}, client.InNamespace(ns))
	must(b, err)
	defer fw.Stop()
	freightAt := func(tag string) <-chan time.Time {
		ch := make(chan time.Time, 1)
		go func() {
			for ev := range fw.ResultChan() {
				if f, ok := ev.Object.(*haulv1.Freight); ok && len(f.Images) > 0 && f.Images[0].Tag == tag {
					ch <- time.Now()
					return
				}
			}
		}()
		return ch
	}

	var toProd, toFreight []time.Duration
	i := 0
	w0, s0, c0 := writes.Load(), statusWrites.Load(), conflicts.Load()
	for b.Loop() {
		i++
		tag := fmt.Sprintf("1.0.%d", i)
		_, err := reg.PushImage("app", tag, testservers.ImageOptions{})
		must(b, err)
		want.Store(&tag)
		gotFreight := freightAt(tag)
		start := time.Now()
		w := &haulv1.Warehouse{}
		must(b, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, w))
		patch := client.MergeFrom(w.DeepCopy())
		if w.Annotations == nil {
			w.Annotations = map[string]string{}
		}
		w.Annotations[haulv1.AnnotationRefresh] = tag
		must(b, env.Client.Patch(ctx, w, patch))
		select {
		case at := <-gotFreight:
			toFreight = append(toFreight, at.Sub(start))
		case <-time.After(time.Minute):
			b.Fatalf("timed out waiting for the Freight of %s; state:\n%s", tag, pipelineState(ns))
		}
		for done := false; !done; {
			select {
			case l := <-pushed:
				if l.tag == tag {
					toProd = append(toProd, l.at.Sub(start))
					done = true
				}
			case <-time.After(time.Minute):
				b.Fatalf("timed out waiting for %s on stage/prod; state:\n%s", tag, pipelineState(ns))
			}
		}
	}
	b.ReportMetric(p50(toProd).Seconds()*1000, "ms-refresh-to-prod-p50")
	b.ReportMetric(p50(toFreight).Seconds()*1000, "ms-refresh-to-freight-p50")
	// API cost of one release through three Stages, from the controllers' own client:
	// each status has one writer, so conflicts should stay at zero.
	n := float64(b.N)
	b.ReportMetric(float64(writes.Load()-w0)/n, "api-writes/release")
	b.ReportMetric(float64(statusWrites.Load()-s0)/n, "status-writes/release")
	b.ReportMetric(float64(conflicts.Load()-c0)/n, "conflicts/release")
	for what, m := range map[string]*sync.Map{"writes": &writesByKind, "conflicts": &conflictsByKind} {
		m.Range(func(k, v any) bool {
			b.Logf("%s since the package started: %s: %d", what, k, v.(*atomic.Int64).Load())
			return true
		})
	}
}

func p50(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// pipelineState describes the Freight, Stages and Promotions of ns, for timeout messages.
func pipelineState(ns string) string {
	var b strings.Builder
	var fl haulv1.FreightList
	_ = env.Client.List(ctx, &fl, client.InNamespace(ns))
	for _, f := range fl.Items {
		tag := ""
		if len(f.Images) > 0 {
			tag = f.Images[0].Tag
		}
		fmt.Fprintf(&b, "freight %s %s currentlyIn=%v verifiedIn=%v\n", f.Alias, tag, keysOf(f.Status.CurrentlyIn), keysOf(f.Status.VerifiedIn))
	}
	var sl haulv1.StageList
	_ = env.Client.List(ctx, &sl, client.InNamespace(ns))
	for _, s := range sl.Items {
		fmt.Fprintf(&b, "stage %s summary=%s current=%v holds=%d conds=", s.Name, s.Status.FreightSummary, s.Status.CurrentPromotion, len(s.Status.AutoPromotionHolds))
		for _, c := range s.Status.Conditions {
			fmt.Fprintf(&b, "%s=%s/%s(%s) ", c.Type, c.Status, c.Reason, c.Message)
		}
		b.WriteString("\n")
	}
	var pl haulv1.PromotionList
	_ = env.Client.List(ctx, &pl, client.InNamespace(ns))
	for _, p := range pl.Items {
		fmt.Fprintf(&b, "promotion %s %s %s\n", p.Name, p.Status.Phase, p.Status.Message)
	}
	return b.String()
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitUntil(b testing.TB, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
