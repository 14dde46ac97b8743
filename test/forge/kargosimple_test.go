package forge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers"
	"github.com/haul-dev/haul/internal/manifest"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/internal/webhook"
	promo "github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

// kargoSimple is where test/kargo keeps akuity/kargo-simple's kargo/ folder, byte for
// byte (test/kargo/testdata/index.yaml records the commit).
const kargoSimple = "../kargo/testdata/kargo-simple/kargo"

// The URLs kargo-simple's manifests name, which a user replaces by their own (the
// repository's personalize.sh does it with sed).
const (
	kargoSimpleRepoURL = "https://github.com/akuity/kargo-simple.git"
	kargoSimpleImage   = "ghcr.io/akuity/guestbook"
)

// TestKargoSimplePipelineOnGiteaAndARegistry runs akuity/kargo-simple's own pipeline
// (its kargo/ folder, only the Git and image URLs replaced) on Haul against a real
// Gitea holding kargo-simple's base/ and env/ files and a local OCI registry: the
// Warehouse discovers the pushed tag, dev and staging are promoted by direct pushes to
// main, and prod opens a pull request (git-open-pr with createTargetBranch, then
// git-wait-for-pr reading task.outputs['open-pr'].prNumber) that a second Gitea user
// merges. git-wait-for-pr polls at Kargo's default (30s), so Gitea's webhook to Haul's
// receiver is what finishes prod within seconds of the merge.
func TestKargoSimplePipelineOnGiteaAndARegistry(t *testing.T) {
	ctx := context.Background()

	reg, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	image := reg.Repo("akuity/guestbook")
	if _, err := reg.PushImage("akuity/guestbook", "v0.0.2", testservers.ImageOptions{}); err != nil {
		t.Fatal(err)
	}

	// kargo-simple's PromotionTask names no git-open-pr provider: Kargo infers it from
	// the host (github.com), as Haul does. So Gitea runs under a name that says gitea,
	// as a self-hosted Gitea usually does; its clone URLs, pull request links and
	// webhook payloads all use that name.
	resolveLocally(t, map[string]netip.Addr{"gitea.localhost": netip.MustParseAddr("127.0.0.1")})
	g := testservers.StartGiteaNamed(t, "gitea.localhost")
	const repo = "kargo-simple"
	if _, err := g.CreateRepo(ctx, repo, seedFiles(t, image)); err != nil {
		t.Fatal(err)
	}
	repoURL := g.CloneURL(repo)
	if _, err := g.CreateUser(ctx, "reviewer"); err != nil {
		t.Fatal(err)
	}
	if err := g.AddCollaborator(ctx, repo, "reviewer"); err != nil {
		t.Fatal(err)
	}

	// What the user applies: kargo-simple's kargo/ folder with their URLs, and, as Kargo
	// users write them, the repository credential and a Gitea webhook receiver.
	pipeline := readKargoSimple(t, repoURL, image)
	const ns = "kargo-simple" // the Project's name, as kargo-simple names it
	const hookSecret = "kargo-simple-hook-secret"
	extra := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: kargo-simple-repo
  namespace: %[1]s
  labels:
    kargo.akuity.io/cred-type: git
stringData:
  repoURL: %[2]s
  username: %[3]s
  password: %[4]s
---
apiVersion: v1
kind: Secret
metadata:
  name: gitea-wh-secret
  namespace: %[1]s
  labels:
    kargo.akuity.io/cred-type: generic
stringData:
  secret: %[5]s
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: %[1]s
  namespace: %[1]s
spec:
  webhookReceivers:
  - name: gitea
    gitea:
      secretRef:
        name: gitea-wh-secret
`, ns, repoURL, g.AdminUser, g.AdminToken, hookSecret)

	startAllControllers(t)
	applyAsHaulApplyDoes(t, append(pipeline, []byte(extra)))

	receiver := httptest.NewServer(webhook.NewHandler(env.Client))
	t.Cleanup(receiver.Close)
	if err := g.AddWebhook(ctx, repo, receiver.URL+webhook.PathPrefix+ns+"/gitea", hookSecret); err != nil {
		t.Fatal(err)
	}

	// The Warehouse discovers v0.0.2 and makes Freight of it.
	var freight haulv1.Freight
	eventually(t, 60*time.Second, "the Warehouse to make Freight of v0.0.2", func() bool {
		var list haulv1.FreightList
		if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, f := range list.Items {
			if f.Origin.Name == "guestbook" && len(f.Images) == 1 && f.Images[0].RepoURL == image && f.Images[0].Tag == "v0.0.2" {
				freight = f
				return true
			}
		}
		return false
	})

	want := map[string]string{"dev": "v0.0.1", "staging": "v0.0.1", "prod": "v0.0.1"}
	checkTags := func(t *testing.T) {
		t.Helper()
		for _, stage := range []string{"dev", "staging", "prod"} {
			k := rawFile(t, g, repo, "main", "env/"+stage+"/kustomization.yaml")
			entry := "- name: " + image + "\n  newTag: " + want[stage] + "\n"
			if !strings.Contains(k, entry) {
				t.Fatalf("env/%s/kustomization.yaml on main, want the image at %s:\n%s", stage, want[stage], k)
			}
		}
	}
	checkTags(t)

	promote := func(t *testing.T, stage string) *haulv1.Promotion {
		t.Helper()
		s := &haulv1.Stage{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: stage}, s); err != nil {
			t.Fatal(err)
		}
		p := promo.New(s, freight.Name, "cli:kargo-simple-user")
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	finish := func(t *testing.T, p *haulv1.Promotion, d time.Duration) {
		t.Helper()
		eventually(t, d, "Promotion "+p.Name+" to finish", func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
			return p.Status.Phase.IsTerminal()
		})
		if p.Status.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("Promotion %s ended %s: %s", p.Name, p.Status.Phase, p.Status.Message)
		}
	}
	verifiedIn := func(t *testing.T, stage string) {
		t.Helper()
		f := &haulv1.Freight{}
		eventually(t, 30*time.Second, "the Freight to be verified in "+stage, func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(&freight), f)
			_, ok := f.Status.VerifiedIn[stage]
			return ok
		})
	}

	for _, stage := range []string{"dev", "staging"} {
		p := promote(t, stage)
		finish(t, p, 90*time.Second)
		want[stage] = "v0.0.2"
		checkTags(t)
		if n, err := g.OpenPRs(ctx, repo); err != nil || n != 0 {
			t.Fatalf("%s pushed to main directly, yet %d pull requests are open (%v)", stage, n, err)
		}
		verifiedIn(t, stage)
	}

	// prod opens a pull request and waits for it.
	p := promote(t, "prod")
	var pr *haulv1.PullRequestStatus
	eventually(t, 90*time.Second, "prod's Promotion to wait for its pull request", func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
		if p.Status.Phase.IsTerminal() {
			t.Fatalf("prod's Promotion ended %s before the review: %s", p.Status.Phase, p.Status.Message)
		}
		pr = p.Status.WaitingPullRequest()
		return pr != nil
	})
	if !strings.HasPrefix(pr.URL, strings.TrimSuffix(repoURL, ".git")+"/pulls/") || pr.Number < 1 || pr.State != haulv1.PullRequestOpen {
		t.Fatalf("prod waits on pull request %+v", pr)
	}
	checkTags(t) // nothing reached main before the merge
	merged := time.Now()
	if err := g.MergePR(ctx, repo, pr.Number, "reviewer", "merge"); err != nil {
		t.Fatal(err)
	}
	finish(t, p, 30*time.Second)
	took := time.Since(merged)
	t.Logf("prod: pull request merged by reviewer → Promotion Succeeded in %s (git-wait-for-pr polls every 30s, Kargo's default)", took)
	last := p.Status.StepExecutionMetadata[len(p.Status.StepExecutionMetadata)-1]
	if last.PullRequest == nil || last.PullRequest.State != haulv1.PullRequestMerged || !strings.Contains(last.Message, "by reviewer") {
		t.Fatalf("wait step %+v, want the merged pull request and its merger", last)
	}
	want["prod"] = "v0.0.2"
	checkTags(t)
	// Only Gitea's webhook can finish it this fast: the step polls every 30s.
	if took > 10*time.Second {
		t.Errorf("merge → Succeeded took %s, want at most 10s", took)
	}
}

// seedFiles reads kargo-simple's base/ and env/*/kustomization.yaml (testdata) with
// ghcr.io/akuity/guestbook replaced by image, as personalize.sh replaces it.
func seedFiles(t *testing.T, image string) map[string]string {
	t.Helper()
	root := filepath.Join("testdata", "kargo-simple")
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = strings.ReplaceAll(string(b), kargoSimpleImage, image)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"base/kustomization.yaml", "env/dev/kustomization.yaml", "env/staging/kustomization.yaml", "env/prod/kustomization.yaml"} {
		if _, ok := files[f]; !ok {
			t.Fatalf("testdata lacks %s", f)
		}
	}
	return files
}

// readKargoSimple reads kargo-simple's kargo/ folder with the Git repository and image
// URLs replaced, and checks that nothing else changed: putting the old URLs back gives
// the fixtures byte for byte, and every changed line holds a new URL.
func readKargoSimple(t *testing.T, repoURL, image string) [][]byte {
	t.Helper()
	var out [][]byte
	replaced := 0
	for _, f := range []string{"project.yaml", "warehouse.yaml", "promotiontask.yaml", "stages.yaml"} {
		orig, err := os.ReadFile(filepath.Join(kargoSimple, f))
		if err != nil {
			t.Fatal(err)
		}
		n := strings.NewReplacer(kargoSimpleRepoURL, repoURL, kargoSimpleImage, image).Replace(string(orig))
		back := strings.NewReplacer(repoURL, kargoSimpleRepoURL, image, kargoSimpleImage).Replace(n)
		if back != string(orig) {
			t.Fatalf("%s: the rewritten text differs from the fixture in more than its URLs", f)
		}
		ol, nl := strings.Split(string(orig), "\n"), strings.Split(n, "\n")
		if len(ol) != len(nl) {
			t.Fatalf("%s: rewriting changed the line count", f)
		}
		for i := range ol {
			if ol[i] != nl[i] {
				if !strings.Contains(nl[i], repoURL) && !strings.Contains(nl[i], image) {
					t.Fatalf("%s:%d changed without a new URL: %q", f, i+1, nl[i])
				}
				replaced++
			}
		}
		out = append(out, []byte(n))
	}
	// The PromotionTask's repoURL and image vars and the Warehouse's image.
	if replaced != 3 {
		t.Fatalf("%d lines rewritten, want 3 (PromotionTask vars repoURL and image, Warehouse repoURL)", replaced)
	}
	return out
}

// applyAsHaulApplyDoes loads, converts and validates the manifests as `haul apply`
// does (manifest.Load, manifest.Validate with every registered step), refusing any
// warning, then creates the objects in apply's order: the Project first and its
// namespace awaited, then the rest.
func applyAsHaulApplyDoes(t *testing.T, manifests [][]byte) {
	t.Helper()
	ctx := context.Background()
	docs, err := manifest.Load([]string{"-"}, false, bytes.NewReader(bytes.Join(manifests, []byte("\n---\n"))))
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := manifest.Validate(docs, manifest.Cluster{Steps: steps.Builtin().Names(), StepOutputs: steps.Builtin().OutputKeys})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w)
	}
	rank := map[string]int{"Project": 0, "Secret": 1, "ProjectConfig": 1, "PromotionTask": 2, "Warehouse": 3, "Stage": 4}
	for r := 0; r <= 4; r++ {
		for _, d := range docs {
			k, ok := rank[d.Object.GetKind()]
			if !ok {
				t.Fatalf("unexpected %s", d.Describe())
			}
			if k != r {
				continue
			}
			if err := env.Client.Create(ctx, d.Object.DeepCopy()); err != nil {
				t.Fatalf("creating %s: %v", d.Describe(), err)
			}
		}
		if r == 0 {
			ns := &corev1.Namespace{}
			eventually(t, 30*time.Second, "the Project's namespace", func() bool {
				return env.Client.Get(ctx, client.ObjectKey{Name: "kargo-simple"}, ns) == nil
			})
		}
	}
}

// startAllControllers runs every reconciler Haul runs (controllers.SetupAll) for the
// test.
func startAllControllers(t *testing.T) {
	t.Helper()
	startManager(t, func(mgr ctrl.Manager) error {
		return controllers.SetupAll(mgr, controllers.Options{WorkDir: t.TempDir()})
	})
}

// rawFile reads path at ref of the admin's public repository from Gitea.
func rawFile(t *testing.T, g *testservers.Gitea, repo, ref, path string) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/" + g.AdminUser + "/" + repo + "/raw/branch/" + ref + "/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading %s at %s: %s %v", path, ref, resp.Status, err)
	}
	return string(b)
}
