// Package shard runs three `haul controller` processes (shards a and b, and the default
// controller) against one API server and one Git repository, as a sharded installation
// does, and checks that each does its own shard's work and that no commit is lost.
package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/shard"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// shards are the controller processes: "" is the default controller.
var shards = []string{"", "a", "b"}

// rounds is how many Freight each Warehouse makes, one after another.
const rounds = 3

func shardName(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

// TestShardedControllersSplitTheWork: with shards a and b and the default controller
// running, the Warehouses and Stages labelled haul.dev/shard=a are worked by shard a's
// process only (and so on), their Freight and Promotions carry the label, every
// Stage of every shard pushes to the same branch of one repository concurrently and no
// commit is lost, and a Promotion made without the label (kubectl) is run by its
// Stage's shard.
func TestShardedControllersSplitTheWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := testservers.BuildHaul(t.TempDir(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	git, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = git.Close() })
	if _, err := git.SeedRepo("gitops", map[string]string{"README.md": "gitops\n"}); err != nil {
		t.Fatal(err)
	}
	repo := git.RepoURL("gitops")

	ns := env.Namespace(t, "sharded")
	cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
	must(t, env.Client.Create(ctx, cfg))
	stagesOf := map[string][]string{}
	for _, s := range shards {
		labels := map[string]string{}
		if s != "" {
			labels[shard.Label] = s
		}
		wh := &haulv1.Warehouse{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w-" + shardName(s), Labels: labels},
			Spec: haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: time.Hour}, Subscriptions: []haulv1.RepoSubscription{
				{Image: &haulv1.ImageSubscription{RepoURL: reg.Repo("app-" + shardName(s)), DiscoveryLimit: 20}}}},
		}
		must(t, env.Client.Create(ctx, wh))
		for i := 1; i <= 2; i++ {
			name := fmt.Sprintf("%s-%d", shardName(s), i)
			stagesOf[s] = append(stagesOf[s], name)
			must(t, env.Client.Create(ctx, &haulv1.Stage{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
				Spec: haulv1.StageSpec{
					RequestedFreight: []haulv1.FreightRequest{{
						Origin:  haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: wh.Name},
						Sources: haulv1.FreightSources{Direct: true},
					}},
					PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: writeAndPush(repo, name)}},
				},
			}))
		}
	}

	kubeconfig := writeKubeconfig(t, env.Config)
	logs, workDirs := map[string]string{}, map[string]string{}
	for _, s := range shards {
		logs[s], workDirs[s] = startController(t, bin, kubeconfig, ns, s)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for s, path := range logs {
				b, _ := os.ReadFile(path)
				out := string(b)
				if len(out) > 4000 {
					out = out[len(out)-4000:]
				}
				t.Logf("controller %s log tail:\n%s", shardName(s), out)
			}
		}
	})

	// Each round, every shard's Warehouse gets a new tag at once, so the six Stages'
	// Promotions (two per shard, in three processes) push to main concurrently.
	freightOf := map[string][]string{}
	for round := 1; round <= rounds; round++ {
		tag := fmt.Sprintf("1.0.%d", round)
		for _, s := range shards {
			if _, err := reg.PushImage("app-"+shardName(s), tag, testservers.ImageOptions{Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
			refresh(t, ctx, ns, "w-"+shardName(s), tag)
		}
		for _, s := range shards {
			id := waitFreight(t, ctx, ns, "w-"+shardName(s), freightOf[s])
			freightOf[s] = append(freightOf[s], id)
		}
		for _, s := range shards {
			for _, st := range stagesOf[s] {
				waitPromoted(t, ctx, ns, st, freightOf[s][round-1])
			}
		}
	}

	// A Promotion made as with kubectl (no shard label) of shard a's Stage is run by
	// shard a: the default controller, which sees it, hands it over.
	manual := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manual-a-1"},
		Spec:       haulv1.PromotionSpec{Stage: "a-1", Freight: freightOf["a"][0]},
	}
	must(t, env.Client.Create(ctx, manual))
	if p := waitTerminal(t, ctx, ns, manual.Name); p.Status.Phase != haulv1.PromotionSucceeded || p.Labels[shard.Label] != "a" {
		t.Fatalf("manual Promotion: %s (%s), label %q; want Succeeded on shard a", p.Status.Phase, p.Status.Message, p.Labels[shard.Label])
	}

	t.Run("a second controller on a work dir in use is refused", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "controller", "--kubeconfig", kubeconfig, "--shard", "b",
			"--metrics-bind-address=0", "--health-probe-bind-address=0", "--work-dir", workDirs["a"]).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--work-dir "+workDirs["a"]+" is already in use by haul pid") {
			t.Fatalf("got %v:\n%s\nwant a refusal naming --work-dir", err, out)
		}
	})

	t.Run("no commit is lost", func(t *testing.T) {
		work := t.TempDir()
		if _, err := testservers.Git(work, "clone", "-q", repo, "c"); err != nil {
			t.Fatal(err)
		}
		out, err := testservers.Git(filepath.Join(work, "c"), "log", "--format=%s", "main")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(line, "promote ") {
				got[strings.TrimPrefix(line, "promote ")]++
			}
		}
		for _, s := range shards {
			for _, st := range stagesOf[s] {
				want := rounds
				if st == "a-1" {
					want++ // the manual Promotion
				}
				if got[st] != want {
					t.Errorf("Stage %s: %d commits on main, want %d (log:\n%s)", st, got[st], want, out)
				}
				b, err := os.ReadFile(filepath.Join(work, "c", st+".txt"))
				if err != nil {
					t.Fatal(err)
				}
				if want := freightOf[s][rounds-1]; st != "a-1" && string(b) != want {
					t.Errorf("%s.txt = %q, want the last round's Freight %s", st, b, want)
				}
			}
		}
	})

	t.Run("each shard's objects carry its label and were written by its controller only", func(t *testing.T) {
		var lists = []client.ObjectList{&haulv1.WarehouseList{}, &haulv1.StageList{}, &haulv1.FreightList{}, &haulv1.PromotionList{}}
		for _, l := range lists {
			must(t, env.Client.List(ctx, l, client.InNamespace(ns)))
			var objs []client.Object
			switch l := l.(type) {
			case *haulv1.WarehouseList:
				for i := range l.Items {
					objs = append(objs, &l.Items[i])
				}
			case *haulv1.StageList:
				for i := range l.Items {
					objs = append(objs, &l.Items[i])
				}
			case *haulv1.FreightList:
				if len(l.Items) != rounds*len(shards) {
					t.Errorf("%d Freight, want %d", len(l.Items), rounds*len(shards))
				}
				for i := range l.Items {
					objs = append(objs, &l.Items[i])
				}
			case *haulv1.PromotionList:
				for i := range l.Items {
					objs = append(objs, &l.Items[i])
				}
			}
			for _, o := range objs {
				want := shardOfName(o)
				if got := shard.Of(o.GetLabels()); got != want {
					t.Errorf("%T %s: shard label %q, want %q", o, o.GetName(), got, want)
				}
				own := false
				for _, mf := range o.GetManagedFields() {
					own = own || mf.Manager == app.ControllerUserAgent(want)
					if strings.HasPrefix(mf.Manager, "haul-controller") && mf.Manager != app.ControllerUserAgent(want) &&
						// The default controller hands the unlabelled manual Promotion to shard a.
						(o.GetName() != manual.Name || mf.Manager != app.ControllerUserAgent("")) {
						t.Errorf("%T %s of shard %s was written by %s", o, o.GetName(), shardName(want), mf.Manager)
					}
				}
				if !own {
					t.Errorf("%T %s of shard %s: its controller %s never wrote it", o, o.GetName(), shardName(want), app.ControllerUserAgent(want))
				}
			}
		}
	})

	t.Run("Promotion Events name the shard that ran them", func(t *testing.T) {
		var evs corev1.EventList
		must(t, env.Client.List(ctx, &evs, client.InNamespace(ns)))
		seen := map[string]string{}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "Promotion" && e.Reason == haulv1.ReasonPromotionSucceeded {
				seen[e.InvolvedObject.Name] = e.Message
			}
		}
		var promos haulv1.PromotionList
		must(t, env.Client.List(ctx, &promos, client.InNamespace(ns)))
		for _, p := range promos.Items {
			msg, ok := seen[p.Name]
			s := shard.Of(p.Labels)
			named := strings.Contains(msg, "(controller shard ")
			switch {
			case !ok:
				t.Errorf("Promotion %s: no Succeeded Event", p.Name)
			case s != "" && !strings.Contains(msg, "(controller shard "+s+")"):
				t.Errorf("Promotion %s of shard %s: Event %q does not name it", p.Name, s, msg)
			case s == "" && named:
				t.Errorf("Promotion %s of the default shard: Event %q names a shard", p.Name, msg)
			}
		}
	})
}

// shardOfName is the shard the test put an object in, from its name (Stages and
// Warehouses are named after their shard, Promotions after their Stage, Freight
// after... its origin).
func shardOfName(o client.Object) string {
	name := o.GetName()
	switch o := o.(type) {
	case *haulv1.Freight:
		name = strings.TrimPrefix(o.Origin.Name, "w-")
	case *haulv1.Promotion:
		name = o.Spec.Stage
	case *haulv1.Warehouse:
		name = strings.TrimPrefix(name, "w-")
	}
	s, _, _ := strings.Cut(name, "-")
	if s == "default" {
		return ""
	}
	return s
}

// writeAndPush is a Stage's promotion: clone main, write <stage>.txt with the Freight's name,
// commit, push to main (which the other Stages push to at the same time).
func writeAndPush(repo, stage string) []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		step("git-clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "out"}}}),
		step("file-write", map[string]any{"path": "out/" + stage + ".txt", "contents": "${{ ctx.targetFreight.name }}", "overwrite": true}),
		step("git-commit", map[string]any{"path": "out", "message": "promote " + stage}),
		step("git-push", map[string]any{"path": "out"}),
	}
}

func step(uses string, cfg map[string]any) haulv1.PromotionStep {
	b, _ := json.Marshal(cfg)
	return haulv1.PromotionStep{Uses: uses, Config: &apiextensionsv1.JSON{Raw: b}}
}

// startController runs `haul controller` for shard s (the default controller when
// empty) with leader election, as the chart does, and returns its log file and work dir.
func startController(t *testing.T, bin, kubeconfig, ns, s string) (logPath, workDir string) {
	p := startProcess(t, bin, kubeconfig, ns, s)
	return p.logPath, p.workDir
}

// process is a running `haul controller`.
type process struct {
	cmd              *exec.Cmd
	logPath, workDir string
}

// startProcess starts `haul controller` for shard s with extra flags; it is stopped
// (SIGTERM, then SIGKILL after 20 s) when tb ends.
func startProcess(tb testing.TB, bin, kubeconfig, ns, s string, extra ...string) *process {
	tb.Helper()
	dir := tb.TempDir()
	p := &process{logPath: filepath.Join(dir, "controller.log"), workDir: filepath.Join(dir, "work")}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	args := []string{"controller", "--kubeconfig", kubeconfig, "--leader-elect=true", "--leader-election-namespace", ns,
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--work-dir", p.workDir}
	if s != "" {
		args = append(args, "--shard", s)
	}
	p.cmd = exec.Command(bin, append(args, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var once sync.Once
	tb.Cleanup(func() {
		once.Do(func() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
			_ = logFile.Close()
			if keep := os.Getenv("HAUL_TEST_KEEP_LOGS"); keep != "" {
				if b, err := os.ReadFile(p.logPath); err == nil {
					_ = os.WriteFile(filepath.Join(keep, fmt.Sprintf("controller-%s-%d.log", shardName(s), p.cmd.Process.Pid)), b, 0o644)
				}
			}
		})
	})
	return p
}

func writeKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func refresh(t *testing.T, ctx context.Context, ns, name, value string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"` + haulv1.AnnotationRefresh + `":"` + value + `"}}}`)
	must(t, env.Client.Patch(ctx, &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, client.RawPatch(types.MergePatchType, patch)))
}

// waitFreight waits for the Warehouse's newest Freight to be one not in seen.
func waitFreight(t *testing.T, ctx context.Context, ns, name string, seen []string) string {
	t.Helper()
	var id string
	eventually(t, ctx, 60*time.Second, "new Freight from "+name, func() bool {
		wh := &haulv1.Warehouse{}
		must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, wh))
		id = wh.Status.LastFreightID
		if id == "" {
			return false
		}
		for _, s := range seen {
			if s == id {
				return false
			}
		}
		return true
	})
	return id
}

// waitPromoted waits for a Succeeded Promotion of freight to stage.
func waitPromoted(t *testing.T, ctx context.Context, ns, stage, freight string) {
	t.Helper()
	eventually(t, ctx, 90*time.Second, "Stage "+stage+" to be promoted to "+freight, func() bool {
		var l haulv1.PromotionList
		must(t, env.Client.List(ctx, &l, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelStage: stage, haulv1.LabelFreight: freight}))
		for _, p := range l.Items {
			if p.Status.Phase == haulv1.PromotionSucceeded {
				return true
			}
			if p.Status.Phase.IsTerminal() {
				t.Fatalf("Promotion %s: %s: %s", p.Name, p.Status.Phase, p.Status.Message)
			}
		}
		return false
	})
}

func waitTerminal(t *testing.T, ctx context.Context, ns, name string) *haulv1.Promotion {
	t.Helper()
	p := &haulv1.Promotion{}
	eventually(t, ctx, 60*time.Second, "Promotion "+name+" to finish", func() bool {
		must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p))
		return p.Status.Phase.IsTerminal()
	})
	return p
}

func eventually(t testing.TB, ctx context.Context, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
