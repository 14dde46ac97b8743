package promotion_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/internal/testservers"
)

func TestAbortWhileRunningUnblocksTheNext(t *testing.T) {
	ns := env.Namespace(t, "promo-abort")
	startController(t, t.TempDir())
	gate := newGate(t)
	makeStage(t, ns, "a", []haulv1.PromotionStep{rawStep("http", "wait", map[string]any{
		"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "100ms"})})
	makeFreight(t, ns, "ffffffffffff6", "1.0.0")
	first := promote(t, ns, "a", "ffffffffffff6")
	eventually(t, 30*time.Second, "the first Promotion to run", func() bool {
		p := phase(t, ns, first)
		return p.Status.Phase == haulv1.PromotionRunning && len(p.Status.StepExecutionMetadata) > 0
	})
	second := promote(t, ns, "a", "ffffffffffff6")
	p := phase(t, ns, first)
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[haulv1.AnnotationAbort] = "by-test"
	if err := env.Client.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	p = waitTerminal(t, ns, first, 30*time.Second)
	if p.Status.Phase != haulv1.PromotionAborted || p.Status.StepExecutionMetadata[0].Status != haulv1.StepAborted {
		t.Fatalf("first: %s, step %s", p.Status.Phase, p.Status.StepExecutionMetadata[0].Status)
	}
	gate.open()
	if p := waitTerminal(t, ns, second, 30*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("second: %s: %s", p.Status.Phase, p.Status.Message)
	}
}

// TestInvalidStatusEndsErrored snapshots a task whose expanded alias is longer than the
// API allows: the status write is rejected as Invalid and the Promotion ends Errored.
func TestInvalidStatusEndsErrored(t *testing.T) {
	ns := env.Namespace(t, "promo-invalid")
	startController(t, t.TempDir())
	long := strings.Repeat("a", 63)
	task := &haulv1.PromotionTask{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "t"},
		Spec:       haulv1.PromotionTaskSpec{Steps: []haulv1.PromotionStep{rawStep("compose-output", long, map[string]any{"a": "b"})}},
	}
	if err := env.Client.Create(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	makeStage(t, ns, "i", []haulv1.PromotionStep{{Task: &haulv1.PromotionTaskReference{Name: "t"}, As: long}})
	makeFreight(t, ns, "aaaaaaaaaaaa7", "1.0.0")
	name := promote(t, ns, "i", "aaaaaaaaaaaa7")
	p := waitTerminal(t, ns, name, 30*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored || !strings.Contains(p.Status.Message, "rejected") {
		t.Fatalf("%s: %s", p.Status.Phase, p.Status.Message)
	}
	eventually(t, 30*time.Second, "the Stage to be released", func() bool {
		st := &haulv1.Stage{}
		_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "i"}, st)
		return st.Status.CurrentPromotion == nil
	})
}

func TestTwentyStagesPushToOneBranch(t *testing.T) {
	ns := env.Namespace(t, "promo-twenty")
	var stages []string
	for i := range 20 {
		stages = append(stages, fmt.Sprintf("t%02d", i))
	}
	srv, repo := seedGitops(t, stages...)
	startController(t, t.TempDir())
	makeFreight(t, ns, "bbbbbbbbbbbb8", "4.5.6")
	for _, s := range stages {
		makeStage(t, ns, s, []haulv1.PromotionStep{
			rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}),
			rawStep("kustomize-set-image", "set", map[string]any{"path": "src/stages/" + s}),
			rawStep("git-commit", "commit", map[string]any{"path": "src", "message": "promote " + s}),
			rawStep("git-push", "push", map[string]any{"path": "src", "targetBranch": "main"}),
		})
	}
	var names []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := promote(t, ns, s, "bbbbbbbbbbbb8")
			mu.Lock()
			names = append(names, n)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, n := range names {
		if p := waitTerminal(t, ns, n, 120*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
			t.Errorf("%s: %s: %s", n, p.Status.Phase, p.Status.Message)
		}
	}
	for _, s := range stages {
		if got, _ := srv.Show("gitops", "main", "stages/"+s+"/kustomization.yaml"); !strings.Contains(got, "newTag: 4.5.6") {
			t.Errorf("main lost the change for %s", s)
		}
	}
	if out, _ := testservers.Git(srv.Root+"/gitops.git", "rev-list", "--count", "main"); out != "21" {
		t.Errorf("main has %s commits, want 21", out)
	}
}

func TestCredentialsAndSecretExpressions(t *testing.T) {
	ns := env.Namespace(t, "promo-creds")
	srv, _ := seedGitops(t, "c")
	proxy, err := testservers.AuthProxy(srv.URL, "haul", "s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	repo := proxy.URL + "/gitops.git"
	startController(t, t.TempDir())
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git", Labels: map[string]string{haulv1.LabelCredType: "git"}},
			StringData: map[string]string{"repoURL": repo, "username": "haul", "password": "s3cret-pass"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "generic", Labels: map[string]string{haulv1.LabelCredType: "generic"}},
			StringData: map[string]string{"token": "abc"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}, StringData: map[string]string{"token": "nope"}},
	} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	makeStage(t, ns, "c", append(stageSteps(repo, "c"),
		rawStep("compose-output", "secret", map[string]any{"token": "${{ secret('generic').token }}"})))
	makeFreight(t, ns, "cccccccccccc9", "7.0.0")
	name := promote(t, ns, "c", "cccccccccccc9")
	if p := waitTerminal(t, ns, name, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", p.Status.Phase, p.Status.Message)
	}
	makeStage(t, ns, "d", []haulv1.PromotionStep{rawStep("compose-output", "secret", map[string]any{"token": "${{ secret('plain').token }}"})})
	name = promote(t, ns, "d", "cccccccccccc9")
	p := waitTerminal(t, ns, name, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored || !strings.Contains(p.Status.Message, "generic") || strings.Contains(p.Status.Message, "nope") {
		t.Fatalf("reading an unlabelled Secret: %s: %s", p.Status.Phase, p.Status.Message)
	}
}

// TestSharedCredentialsNamespace: git credentials in the shared namespace serve every
// project's clone and push, but secret() in an expression never reads that namespace.
func TestSharedCredentialsNamespace(t *testing.T) {
	ns := env.Namespace(t, "promo-shared")
	shared := env.Namespace(t, "haul-shared-creds")
	srv, _ := seedGitops(t, "s")
	proxy, err := testservers.AuthProxy(srv.URL, "haul", "sh4red-pass")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	repo := proxy.URL + "/gitops.git"
	startControllerWith(t, promotion.Options{WorkDir: t.TempDir(), SharedCredentialsNamespace: shared})
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "git", Labels: map[string]string{haulv1.LabelCredType: "git"}},
			StringData: map[string]string{"repoURL": repo, "username": "haul", "password": "sh4red-pass"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "generic", Labels: map[string]string{haulv1.LabelCredType: "generic"}},
			StringData: map[string]string{"token": "shared-token"}},
	} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	makeStage(t, ns, "s", stageSteps(repo, "s"))
	makeFreight(t, ns, "dddddddddddd1", "8.0.0")
	name := promote(t, ns, "s", "dddddddddddd1")
	if p := waitTerminal(t, ns, name, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("with shared git credentials: %s: %s", p.Status.Phase, p.Status.Message)
	}
	if got, _ := srv.Show("gitops", "stage/s", "stages/s/kustomization.yaml"); !strings.Contains(got, "newTag: 8.0.0") {
		t.Fatalf("stage/s was not pushed:\n%s", got)
	}
	makeStage(t, ns, "e", []haulv1.PromotionStep{rawStep("compose-output", "secret", map[string]any{"token": "${{ secret('generic').token }}"})})
	name = promote(t, ns, "e", "dddddddddddd1")
	p := waitTerminal(t, ns, name, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored || strings.Contains(p.Status.Message, "shared-token") {
		t.Fatalf("secret() read the shared namespace: %s: %s", p.Status.Phase, p.Status.Message)
	}
	// sharedSecret() reads the shared namespace's generic Secrets, as Kargo's does
	// (scenario 23), and nothing else there: the git credentials stay out.
	makeStage(t, ns, "f", []haulv1.PromotionStep{rawStep("compose-output", "shared", map[string]any{"ok": "${{ sharedSecret('generic').token == 'shared-token' }}"})})
	name = promote(t, ns, "f", "dddddddddddd1")
	if p := waitTerminal(t, ns, name, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("sharedSecret() of a shared generic Secret: %s: %s", p.Status.Phase, p.Status.Message)
	}
	makeStage(t, ns, "g", []haulv1.PromotionStep{rawStep("compose-output", "shared", map[string]any{"pw": "${{ sharedSecret('git').password }}"})})
	name = promote(t, ns, "g", "dddddddddddd1")
	p = waitTerminal(t, ns, name, 60*time.Second)
	raw, _ := json.Marshal(p.Status)
	if p.Status.Phase != haulv1.PromotionErrored || !strings.Contains(p.Status.Message, `sharedSecret("git"): only Secrets labelled haul.dev/cred-type=generic`) ||
		strings.Contains(string(raw), "sh4red-pass") {
		t.Fatalf("sharedSecret() of shared git credentials: %s: %s", p.Status.Phase, raw)
	}
}
