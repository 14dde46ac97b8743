package promotion_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// holdServer answers requests that match while hold is set by never answering: the
// handler waits until the client goes away (or the test ends). Requests that arrive
// after hold is cleared are served by next.
type holdServer struct {
	*httptest.Server
	hold    atomic.Bool
	held    atomic.Int64
	release chan struct{}
}

func newHoldServer(t *testing.T, match func(*http.Request) bool, next http.Handler) *holdServer {
	t.Helper()
	h := &holdServer{release: make(chan struct{})}
	h.hold.Store(true)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) && h.hold.Load() {
			h.held.Add(1)
			select {
			case <-r.Context().Done():
			case <-h.release:
			}
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(h.release) }) }) // runs before Close
	return h
}

// abortAndMeasure sets the abort annotation on the running Promotion and returns how
// long it took to reach a terminal phase, and the Promotion then.
func abortAndMeasure(t *testing.T, ns, name string) (time.Duration, *haulv1.Promotion) {
	t.Helper()
	p := phase(t, ns, name)
	base := p.DeepCopy()
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[haulv1.AnnotationAbort] = "requested-by-test"
	start := time.Now()
	if err := env.Client.Patch(context.Background(), p, client.MergeFrom(base), client.FieldOwner("abort-test")); err != nil {
		t.Fatal(err)
	}
	var got *haulv1.Promotion
	eventually(t, 60*time.Second, "Promotion "+name+" to end after the abort", func() bool {
		got = phase(t, ns, name)
		return got.Status.Phase.IsTerminal()
	})
	return time.Since(start), got
}

// checkAborted asserts how the aborted Promotion ended: Aborted within 5s (the
// controller aims at 1s; -race and a loaded machine get the rest), the running step
// marked Aborted, a message naming the annotation, who set it and the step, and the
// work tree removed.
func checkAborted(t *testing.T, workDir string, took time.Duration, p *haulv1.Promotion, step string) {
	t.Helper()
	if p.Status.Phase != haulv1.PromotionAborted {
		t.Fatalf("phase %s: %s", p.Status.Phase, p.Status.Message)
	}
	if took > 5*time.Second {
		t.Fatalf("the Promotion took %s to end Aborted after the annotation", took)
	}
	t.Logf("Aborted %s after the annotation: %s", took, p.Status.Message)
	for _, m := range p.Status.StepExecutionMetadata {
		if m.Alias == step && m.Status != haulv1.StepAborted {
			t.Fatalf("step %q ended %s: %s", step, m.Status, m.Message)
		}
	}
	for _, want := range []string{haulv1.AnnotationAbort, `"abort-test"`, `"requested-by-test"`, `step "` + step + `" was running`} {
		if !strings.Contains(p.Status.Message, want) {
			t.Fatalf("message %q does not contain %q", p.Status.Message, want)
		}
	}
	dir := filepath.Join(workDir, "promotions", p.Namespace, p.Name)
	eventually(t, 10*time.Second, "the work tree to be removed", func() bool {
		_, err := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist)
	})
}

// TestAbortStopsAnHTTPStepWaitingOnASilentServer: the http step waits (10m timeout) on
// a server that never answers; the abort annotation ends the Promotion Aborted within
// seconds and the Promotion queued behind it then runs to Succeeded.
func TestAbortStopsAnHTTPStepWaitingOnASilentServer(t *testing.T) {
	ns := env.Namespace(t, "promo-abort-http")
	workDir := t.TempDir()
	startController(t, workDir)
	srv := newHoldServer(t, func(*http.Request) bool { return true }, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	makeStage(t, ns, "a", []haulv1.PromotionStep{rawStep("http", "wait", map[string]any{"url": srv.URL + "/ready", "timeout": "10m"})})
	makeFreight(t, ns, "abcabcabcab01", "1.0.0")
	first := promote(t, ns, "a", "abcabcabcab01")
	eventually(t, 60*time.Second, "the http step to reach the silent server", func() bool { return srv.held.Load() > 0 })
	second := promote(t, ns, "a", "abcabcabcab01")
	eventually(t, 30*time.Second, "the second Promotion to queue", func() bool {
		return phase(t, ns, second).Status.Phase == haulv1.PromotionPending
	})
	// Requests from now on are answered; the one in flight stays unanswered.
	srv.hold.Store(false)
	took, p := abortAndMeasure(t, ns, first)
	checkAborted(t, workDir, took, p, "wait")
	if p := waitTerminal(t, ns, second, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("second: %s: %s", p.Status.Phase, p.Status.Message)
	}
}

// TestAbortStopsAStalledPush: the push goes to a remote whose receive-pack never
// answers (the fetch side works); the abort ends the Promotion Aborted within seconds
// and the next Promotion of the Stage pushes.
func TestAbortStopsAStalledPush(t *testing.T) {
	ns := env.Namespace(t, "promo-abort-push")
	workDir := t.TempDir()
	gitSrv, _ := seedGitops(t, "a")
	target, _ := url.Parse(gitSrv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	isPush := func(r *http.Request) bool {
		return r.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(r.URL.Path, "/git-receive-pack")
	}
	remote := newHoldServer(t, isPush, proxy)
	repo := remote.URL + "/gitops.git"
	startController(t, workDir)
	makeStage(t, ns, "a", []haulv1.PromotionStep{
		rawStep("git-clone", "clone", map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}),
		rawStep("kustomize-set-image", "set", map[string]any{"path": "src/stages/a"}),
		rawStep("git-commit", "commit", map[string]any{"path": "src", "message": "promote ${{ ctx.targetFreight.name }}"}),
		rawStep("git-push", "push", map[string]any{"path": "src", "targetBranch": "main"}),
	})
	makeFreight(t, ns, "defdefdefde01", "1.0.0")
	makeFreight(t, ns, "defdefdefde02", "2.0.0")
	first := promote(t, ns, "a", "defdefdefde01")
	eventually(t, 60*time.Second, "the push to stall", func() bool { return remote.held.Load() > 0 })
	second := promote(t, ns, "a", "defdefdefde02")
	eventually(t, 30*time.Second, "the second Promotion to queue", func() bool {
		return phase(t, ns, second).Status.Phase == haulv1.PromotionPending
	})
	remote.hold.Store(false)
	took, p := abortAndMeasure(t, ns, first)
	checkAborted(t, workDir, took, p, "push")
	if p := waitTerminal(t, ns, second, 60*time.Second); p.Status.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("second: %s: %s", p.Status.Phase, p.Status.Message)
	}
	got, err := gitSrv.Show("gitops", "main", "stages/a/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "2.0.0") || strings.Contains(got, "1.0.0") {
		t.Fatalf("main after the second Promotion:\n%s", got)
	}
}
