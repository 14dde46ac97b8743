//go:build argocd

package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// akuity/kargo-advanced at commit 7de9a09: test/kargo keeps its kargo/ folder byte for
// byte (testdata/index.yaml there records the commit); testdata/kargo-advanced here
// holds the rest a user deploys from the same commit: base/, env/<stage>/ and argocd/.
const (
	kargoAdvancedKargo = "../kargo/testdata/kargo-advanced/kargo"
	kargoAdvancedRepo  = "testdata/kargo-advanced"
	kargoAdvancedNS    = "kargo-advanced" // the Project's name
)

// The URLs kargo-advanced names, which its personalize.sh replaces by the user's own
// (GitHub repository and GHCR image), and the public PokeAPI its AnalysisTemplate
// measures.
const (
	advRepoURL = "https://github.com/akuity/kargo-advanced.git"
	advImage   = "ghcr.io/akuity/guestbook"
	advPokeAPI = "https://pokeapi.co"
)

// urlRewrite is one line the test changed: which file, which line, from what to what.
type urlRewrite struct {
	file     string
	line     int
	from, to string
}

func (r urlRewrite) String() string {
	return fmt.Sprintf("%s:%d: %q → %q", r.file, r.line, r.from, r.to)
}

// rewriteURLs replaces each key of urls by its value in text, as personalize.sh does
// with sed, and nothing else: it fails the test unless every changed line holds a new
// URL and putting the old URLs back gives text byte for byte. It returns the new text
// and the lines it changed.
func rewriteURLs(t *testing.T, file, text string, urls map[string]string) (string, []urlRewrite) {
	t.Helper()
	var fwd, back []string
	for from, to := range urls {
		fwd = append(fwd, from, to)
		back = append(back, to, from)
	}
	out := strings.NewReplacer(fwd...).Replace(text)
	if strings.NewReplacer(back...).Replace(out) != text {
		t.Fatalf("%s: the rewritten text differs from the original in more than its URLs", file)
	}
	ol, nl := strings.Split(text, "\n"), strings.Split(out, "\n")
	if len(ol) != len(nl) {
		t.Fatalf("%s: rewriting changed the line count", file)
	}
	var changed []urlRewrite
	for i := range ol {
		if ol[i] == nl[i] {
			continue
		}
		hasNew := false
		for _, to := range urls {
			hasNew = hasNew || strings.Contains(nl[i], to)
		}
		if !hasNew {
			t.Fatalf("%s:%d changed without a new URL: %q", file, i+1, nl[i])
		}
		changed = append(changed, urlRewrite{file, i + 1, strings.TrimSpace(ol[i]), strings.TrimSpace(nl[i])})
	}
	return out, changed
}

// readTree reads every file under root (slash-separated relative paths).
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	must(t, err)
	return files
}

// appSetApplications renders the Applications kargo-advanced's ApplicationSet
// (argocd/appset.yaml, its git directories generator over env/*) generates: the
// ApplicationSet controller does not run here, so the test creates what it would. The
// one edit is the destination server, which the template leaves for personalize.sh to
// fill in.
func appSetApplications(t *testing.T, appset string, stages []string) []*unstructured.Unstructured {
	t.Helper()
	var set struct {
		Spec struct {
			Template map[string]any `json:"template"`
		} `json:"spec"`
	}
	must(t, yaml.Unmarshal([]byte(appset), &set))
	tpl, err := json.Marshal(set.Spec.Template)
	must(t, err)
	var apps []*unstructured.Unstructured
	for _, st := range stages {
		a := &unstructured.Unstructured{}
		must(t, json.Unmarshal([]byte(strings.ReplaceAll(string(tpl), "{{path.basename}}", st)), &a.Object))
		a.SetAPIVersion("argoproj.io/v1alpha1")
		a.SetKind("Application")
		a.SetNamespace("argocd")
		must(t, unstructured.SetNestedField(a.Object, "https://kubernetes.default.svc", "spec", "destination", "server"))
		apps = append(apps, a)
	}
	return apps
}

// rolloutDeployments stands in for the Deployment controller and kubelet, which the test
// cluster (an API server alone) lacks: each Deployment in a guestbook-* namespace is
// reported rolled out and available once Argo CD applies it, so Argo CD's health
// assessment, and through it the Stage's, sees what a real cluster would report.
func rolloutDeployments(ctx context.Context) {
	for ctx.Err() == nil {
		var list appsv1.DeploymentList
		if err := k8s.List(ctx, &list); err == nil {
			for i := range list.Items {
				d := &list.Items[i]
				if !strings.HasPrefix(d.Namespace, "guestbook-") || d.Status.ObservedGeneration >= d.Generation {
					continue
				}
				n := int32(1)
				if d.Spec.Replicas != nil {
					n = *d.Spec.Replicas
				}
				now := metav1.Now()
				d.Status = appsv1.DeploymentStatus{
					ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
					Conditions: []appsv1.DeploymentCondition{
						{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
						{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
					},
				}
				_ = k8s.Status().Update(ctx, d)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pokeAPI answers PokeAPI's /api/v2/pokemon/<name> with the base_experience the real
// API gives (pikachu 112, charizard 267), the only field kargo-advanced's
// AnalysisTemplate reads. It counts the requests per name.
type pokeAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func (p *pokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	xp := map[string]int{"pikachu": 112, "charizard": 267}
	name := strings.TrimPrefix(r.URL.Path, "/api/v2/pokemon/")
	p.mu.Lock()
	p.calls[name]++
	p.mu.Unlock()
	n, ok := xp[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"name":%q,"base_experience":%d}`, name, n)
}

func (p *pokeAPI) count(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[name]
}

// TestKargoAdvancedPipelineRunsUnchanged runs akuity/kargo-advanced as its README has a
// user run it, with only URLs replaced (the Git repository, the image and PokeAPI):
// its repository content on a real Git server, the guestbook image in a real OCI
// registry, its Argo CD AppProject and the Applications its ApplicationSet generates in
// the real Argo CD, and its kargo/ folder applied with `haul apply` to `haul up
// --kubeconfig`. A new image tag then goes dev → staging → ab-test-a and ab-test-b →
// prod (a control-flow Stage) → prod-west, prod-central and prod-east, promoted with
// `haul promote` as the pipeline has no auto-promotion. Each promotion runs
// kargo-advanced's PromotionTask: the env/<stage> branch must hold exactly the rendered
// manifests with the new tag, the Application must be synced to the commit the task
// pushed (task.outputs['commit'].commit) and healthy, and the Stage healthy and the
// Freight verified. ab-test-a and ab-test-b verify with the pokemon-xp AnalysisTemplate:
// with the real Argo Rollouts controller (hack/rollouts/build.sh) pikachu passes and
// charizard fails, as against the real PokeAPI; without it both Stages must say the
// analysis could not run, and the Freight reaches prod by a user's approval instead.
func TestKargoAdvancedPipelineRunsUnchanged(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now()
	bin, err := testservers.BuildHaul(t.TempDir(), "../..")
	must(t, err)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeTestKubeconfig(t, kubeconfig)

	// Argo Rollouts, when hack/rollouts/build.sh has built it.
	rolloutsBins := testservers.DefaultRolloutsBinaries()
	_, errBin := os.Stat(rolloutsBins.Controller)
	_, errCRD := os.Stat(rolloutsBins.CRDDir)
	withRollouts := errBin == nil && errCRD == nil
	if withRollouts {
		must(t, testservers.InstallRolloutsCRDs(ctx, k8s, rolloutsBins.CRDDir))
		r, err := testservers.StartRollouts(ctx, k8s, rolloutsBins, t.TempDir(), cfg)
		must(t, err)
		defer func() {
			if t.Failed() {
				t.Logf("rollouts-controller log (tail):\n%s", r.Logs(4000))
			}
			r.Stop()
		}()
	} else {
		t.Logf("Argo Rollouts is not built (%s): the ab-test Stages' analysis cannot run; build it with make rollouts", rolloutsBins.Controller)
	}

	reg, err := testservers.StartRegistry()
	must(t, err)
	defer reg.Close()
	_, err = reg.PushImage("akuity/guestbook", "v0.1.0", testservers.ImageOptions{})
	must(t, err)
	image := reg.Repo("akuity/guestbook")
	gitSrv, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer gitSrv.Close()
	repoURL := gitSrv.RepoURL("kargo-advanced")
	poke := &pokeAPI{calls: map[string]int{}}
	pokeSrv := httptest.NewServer(poke)
	defer pokeSrv.Close()
	urls := map[string]string{advRepoURL: repoURL, advImage: image, advPokeAPI: pokeSrv.URL}

	// The repository: base/ and env/ (personalized: base names the image), seeded on main.
	var rewrites []urlRewrite
	repoFiles := readTree(t, kargoAdvancedRepo)
	seed := map[string]string{}
	var envStages []string
	for path, text := range repoFiles {
		if strings.HasPrefix(path, "argocd/") {
			continue
		}
		n, changed := rewriteURLs(t, path, text, urls)
		rewrites = append(rewrites, changed...)
		seed[path] = n
		if strings.HasPrefix(path, "env/") && strings.HasSuffix(path, "/kustomization.yaml") {
			envStages = append(envStages, strings.Split(path, "/")[1])
		}
	}
	sort.Strings(envStages)
	seedCommit, err := gitSrv.SeedRepo("kargo-advanced", seed)
	must(t, err)

	// Argo CD: the AppProject, and the Applications the ApplicationSet generates.
	proj, changed := rewriteURLs(t, "argocd/appproj.yaml", repoFiles["argocd/appproj.yaml"], urls)
	rewrites = append(rewrites, changed...)
	p := &unstructured.Unstructured{}
	must(t, yaml.Unmarshal([]byte(proj), &p.Object))
	must(t, k8s.Create(ctx, p))
	appset, changed := rewriteURLs(t, "argocd/appset.yaml", repoFiles["argocd/appset.yaml"], urls)
	rewrites = append(rewrites, changed...)
	for _, a := range appSetApplications(t, appset, envStages) {
		if got := a.GetAnnotations()[haulv1.AnnotationKargoAuthorizedStage]; got != kargoAdvancedNS+":"+strings.TrimPrefix(a.GetName(), "guestbook-") {
			t.Fatalf("Application %s carries %s=%q", a.GetName(), haulv1.AnnotationKargoAuthorizedStage, got)
		}
		must(t, k8s.Create(ctx, a))
	}
	go rolloutDeployments(ctx)

	// Kargo's configuration: kargo/*.yaml with the URLs replaced.
	kargoDir := t.TempDir()
	entries, err := os.ReadDir(kargoAdvancedKargo)
	must(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(kargoAdvancedKargo, e.Name()))
		must(t, err)
		n, changed := rewriteURLs(t, "kargo/"+e.Name(), string(b), urls)
		rewrites = append(rewrites, changed...)
		must(t, os.WriteFile(filepath.Join(kargoDir, e.Name()), []byte(n), 0o644))
	}
	sort.Slice(rewrites, func(i, j int) bool {
		if rewrites[i].file != rewrites[j].file {
			return rewrites[i].file < rewrites[j].file
		}
		return rewrites[i].line < rewrites[j].line
	})
	var lines []string
	for _, r := range rewrites {
		lines = append(lines, r.String())
	}
	t.Logf("the only changes to kargo-advanced, %d URL lines:\n  %s", len(rewrites), strings.Join(lines, "\n  "))
	// The README's and personalize.sh's URLs: the PromotionTask's repoURL and image vars,
	// the Warehouse's two subscriptions, the AnalysisTemplate's PokeAPI, the image in
	// base/guestbook-deploy.yaml, the ApplicationSet's generator and template repoURL and
	// the AppProject's sourceRepos.
	if len(rewrites) != 9 {
		t.Fatalf("%d lines rewritten, want 9", len(rewrites))
	}

	addr, err := testservers.FreeAddr()
	must(t, err)
	up, err := testservers.StartHaulUp(bin, t.TempDir(), addr, 2*time.Minute, "--kubeconfig", kubeconfig)
	must(t, err)
	defer func() {
		if t.Failed() {
			t.Logf("haul up output (tail):\n%s", tail(up.Output(), 20000))
		}
		_ = up.Stop(time.Minute)
	}()
	haul := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--kubeconfig", kubeconfig, "-p", kargoAdvancedNS)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if !withRollouts {
		// The folder as it is names an AnalysisTemplate, a kind the cluster lacks
		// without Argo Rollouts: apply refuses the whole set saying so, writes nothing,
		// and the rest is applied without analysis.yaml.
		out, err := haul("apply", "-f", kargoDir)
		if err == nil || !strings.Contains(out, "the cluster does not know kind AnalysisTemplate in argoproj.io/v1alpha1") {
			t.Fatalf("haul apply of kargo/ without Argo Rollouts: %v\n%s", err, out)
		}
		if err := k8s.Get(ctx, client.ObjectKey{Name: kargoAdvancedNS}, &haulv1.Project{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a refused apply wrote the Project (%v)", err)
		}
		must(t, os.Remove(filepath.Join(kargoDir, "analysis.yaml")))
	}
	out, err := haul("apply", "-f", kargoDir)
	if err != nil {
		t.Fatalf("haul apply -f kargo/: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(out), "warning") {
		t.Errorf("haul apply warned:\n%s", out)
	}

	// A new image tag: the Warehouse (refreshed, as a registry webhook would) makes
	// Freight of it and main's commit.
	_, err = reg.PushImage("akuity/guestbook", "v0.2.0", testservers.ImageOptions{})
	must(t, err)
	const tag = "v0.2.0"
	if out, err := haul("refresh", "warehouse", "guestbook", "--wait"); err != nil {
		t.Fatalf("haul refresh warehouse guestbook: %v\n%s", err, out)
	}
	var freight haulv1.Freight
	eventually(t, time.Minute, "Freight of "+tag+" and main's commit", func() (bool, string) {
		var list haulv1.FreightList
		must(t, k8s.List(ctx, &list, client.InNamespace(kargoAdvancedNS)))
		var seen []string
		for _, f := range list.Items {
			if len(f.Images) == 1 && f.Images[0].RepoURL == image && f.Images[0].Tag == tag &&
				len(f.Commits) == 1 && f.Commits[0].RepoURL == repoURL && f.Commits[0].ID == seedCommit {
				freight = f
				return true, ""
			}
			seen = append(seen, fmt.Sprintf("%+v %+v", f.Images, f.Commits))
		}
		return false, fmt.Sprintf("Freight: %v", seen)
	})

	promote := func(t *testing.T, args ...string) {
		t.Helper()
		start := time.Now()
		out, err := haul(append([]string{"promote", "--freight", freight.Name, "--wait", "--timeout", "2m"}, args...)...)
		if err != nil {
			t.Fatalf("haul promote %v: %v\n%s", args, err, out)
		}
		t.Logf("haul promote %s: Succeeded in %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	}
	checkStage := func(t *testing.T, st string, wantVerified bool) {
		t.Helper()
		start := time.Now()
		checkPromotedStage(t, gitSrv, st, image+":"+tag, freight.Name, wantVerified)
		t.Logf("%s: checked (synced, healthy, verified=%v) %s after its promotion", st, wantVerified, time.Since(start).Round(100*time.Millisecond))
	}

	t.Logf("Freight %s (%s) made %s after the test started", freight.Name, tag, time.Since(started).Round(100*time.Millisecond))
	promote(t, "--stage", "dev")
	checkStage(t, "dev", true)
	promote(t, "--stage", "staging")
	checkStage(t, "staging", true)

	// ab-test-a and ab-test-b both take Freight from staging.
	promote(t, "--downstream-from", "staging")
	if withRollouts {
		// pikachu's 112 is under the template's 200; charizard's 267 is not.
		checkStage(t, "ab-test-a", true)
		checkStage(t, "ab-test-b", false)
		want := map[string]haulv1.VerificationPhase{"ab-test-a": "Succeeded", "ab-test-b": "Failed"}
		for st, phase := range want {
			eventually(t, 90*time.Second, st+" verification to finish "+string(phase), func() (bool, string) {
				v := latestVerification(t, st)
				return v != nil && v.Phase == phase, fmt.Sprintf("%+v", v)
			})
		}
		notVerifiedIn(t, freight.Name, "ab-test-b")
		for _, name := range []string{"pikachu", "charizard"} {
			if poke.count(name) < 4 {
				t.Errorf("PokeAPI was asked about %s %d times; the template measures it 5 times (at least 4 before failing)", name, poke.count(name))
			}
		}
	} else {
		for _, st := range []string{"ab-test-a", "ab-test-b"} {
			checkStage(t, st, false)
			eventually(t, time.Minute, st+" to report that its analysis cannot run", func() (bool, string) {
				v := latestVerification(t, st)
				return v != nil && v.Phase == "Errored" && strings.Contains(v.Message, "Argo Rollouts is not installed"), fmt.Sprintf("%+v", v)
			})
		}
		notVerifiedIn(t, freight.Name, "ab-test-a", "ab-test-b")
		// What a Kargo user does when verification cannot run: approve the Freight for
		// the next Stage by hand.
		if out, err := haul("approve", "--freight", freight.Name, "--stage", "prod"); err != nil {
			t.Fatalf("haul approve: %v\n%s", err, out)
		}
	}

	// prod has no steps: it only routes Freight, which counts as verified there once
	// it is available (verified in ab-test-a, or approved).
	eventually(t, time.Minute, "the Freight to be verified in prod", func() (bool, string) {
		f := &haulv1.Freight{}
		must(t, k8s.Get(ctx, client.ObjectKeyFromObject(&freight), f))
		_, ok := f.Status.VerifiedIn["prod"]
		return ok, fmt.Sprintf("verifiedIn=%v", f.Status.VerifiedIn)
	})
	promote(t, "--downstream-from", "prod")
	for _, st := range []string{"prod-west", "prod-central", "prod-east"} {
		checkStage(t, st, true)
	}
	// prod's own branch and Application are never touched: nothing deploys prod.
	if _, err := gitSrv.RevParse("kargo-advanced", "env/prod"); err == nil {
		t.Error("a branch env/prod was pushed, but prod has no steps")
	}
	t.Logf("kargo-advanced: %s through 7 promoted Stages in %s (Argo Rollouts analysis: %v)", tag, time.Since(started).Round(time.Second), withRollouts)
}

// checkPromotedStage checks what kargo-advanced's PromotionTask did for Stage st: its
// env/<st> branch holds exactly the rendered manifests with the image, the Application
// is synced (by Argo CD, at the commit the task pushed) and healthy, Argo CD applied the
// image, the Stage is healthy, and, when wantVerified, the Freight is verified there.
func checkPromotedStage(t *testing.T, gitSrv *testservers.GitServer, st, image, freight string, wantVerified bool) {
	t.Helper()
	ctx := context.Background()
	ns := "guestbook-" + st
	branch := "env/" + st
	files, err := testservers.Git(filepath.Join(gitSrv.Root, "kargo-advanced.git"), "ls-tree", "-r", "--name-only", branch)
	must(t, err)
	want := []string{ns + "-deployment-guestbook.yaml", ns + "-service-guestbook.yaml", "namespace-" + ns + ".yaml"}
	if got := strings.Fields(files); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want kustomize-build's files %v", branch, got, want)
	}
	dep, err := gitSrv.Show("kargo-advanced", branch, ns+"-deployment-guestbook.yaml")
	must(t, err)
	if !strings.Contains(dep, "image: "+image+"\n") || !strings.Contains(dep, "namespace: "+ns+"\n") {
		t.Errorf("%s's Deployment does not run %s in %s:\n%s", branch, image, ns, dep)
	}
	head, err := gitSrv.RevParse("kargo-advanced", branch)
	must(t, err)

	// The commit the task pushed, as task.outputs['commit'].commit gave it to argocd-update.
	var list haulv1.PromotionList
	must(t, k8s.List(ctx, &list, client.InNamespace(kargoAdvancedNS)))
	var pushed string
	for _, p := range list.Items {
		if p.Spec.Stage != st || p.Spec.Freight != freight {
			continue
		}
		if p.Status.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("Promotion %s to %s is %s: %s", p.Name, st, p.Status.Phase, p.Status.Message)
		}
		pushed = stepOutput(t, &p, "commit", "commit")
	}
	if pushed != head {
		t.Errorf("%s: the task's git-commit output is %q, the branch is at %s", st, pushed, head)
	}

	start := time.Now()
	var waited []string
	lap := func(what string) {
		waited = append(waited, fmt.Sprintf("%s %s", what, time.Since(start).Round(100*time.Millisecond)))
		start = time.Now()
	}
	defer func() { t.Logf("%s: waited for %s", st, strings.Join(waited, ", ")) }()
	eventually(t, time.Minute, "guestbook-"+st+" synced at "+head+" and healthy", func() (bool, string) {
		a := app(t, "guestbook-"+st)
		sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		rev, _, _ := unstructured.NestedString(a.Object, "status", "sync", "revision")
		health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
		opRev, _, _ := unstructured.NestedString(a.Object, "status", "operationState", "operation", "sync", "revision")
		return sync == "Synced" && rev == head && opRev == head && health == "Healthy",
			fmt.Sprintf("sync=%s rev=%s operation revision=%s (want %s) health=%s", sync, rev, opRev, head, health)
	})
	lap("Application synced and healthy")
	d := &appsv1.Deployment{}
	must(t, k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, d))
	if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
		t.Errorf("Argo CD deployed %s to %s, want %s", got, ns, image)
	}
	eventually(t, time.Minute, "Stage "+st+" healthy", func() (bool, string) {
		s := &haulv1.Stage{}
		must(t, k8s.Get(ctx, client.ObjectKey{Namespace: kargoAdvancedNS, Name: st}, s))
		return s.Status.Health != nil && s.Status.Health.Status == haulv1.HealthHealthy, fmt.Sprintf("health=%+v", s.Status.Health)
	})
	lap("Stage healthy")
	if !wantVerified {
		return
	}
	eventually(t, 90*time.Second, "the Freight verified in "+st, func() (bool, string) {
		f := &haulv1.Freight{}
		must(t, k8s.Get(ctx, client.ObjectKey{Namespace: kargoAdvancedNS, Name: freight}, f))
		_, ok := f.Status.VerifiedIn[st]
		return ok, fmt.Sprintf("verifiedIn=%v; %s verification: %+v", f.Status.VerifiedIn, st, latestVerification(t, st))
	})
	lap("Freight verified")
}

// notVerifiedIn fails the test if the Freight is verified in any of the Stages.
func notVerifiedIn(t *testing.T, freight string, stages ...string) {
	t.Helper()
	f := &haulv1.Freight{}
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: kargoAdvancedNS, Name: freight}, f))
	for _, st := range stages {
		if _, ok := f.Status.VerifiedIn[st]; ok {
			t.Errorf("the Freight is verified in %s, whose verification did not pass: %+v", st, latestVerification(t, st))
		}
	}
}

// stepOutput reads output key of the step aliased alias (inside a task: "<task>::<alias>")
// from a Promotion's recorded state.
func stepOutput(t *testing.T, p *haulv1.Promotion, alias, key string) string {
	t.Helper()
	if p.Status.State == nil {
		t.Fatalf("Promotion %s records no step outputs", p.Name)
	}
	var state map[string]map[string]any
	must(t, json.Unmarshal(p.Status.State.Raw, &state))
	for a, outputs := range state {
		if a == alias || strings.HasSuffix(a, "::"+alias) {
			v, _ := outputs[key].(string)
			return v
		}
	}
	t.Fatalf("Promotion %s has no outputs of step %q: %s", p.Name, alias, p.Status.State.Raw)
	return ""
}

// latestVerification is the newest verification run of the Stage's current Freight.
func latestVerification(t *testing.T, st string) *haulv1.VerificationResult {
	s := &haulv1.Stage{}
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: kargoAdvancedNS, Name: st}, s))
	if len(s.Status.FreightHistory) == 0 || len(s.Status.FreightHistory[0].VerificationHistory) == 0 {
		return nil
	}
	return &s.Status.FreightHistory[0].VerificationHistory[0]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
