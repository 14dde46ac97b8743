package flux

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
	"github.com/haul-dev/haul/promotion/steps"
)

var helmReleaseGVR = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}

// helmControllerTestDouble plays helm-controller, which the Go module proxy does not
// serve and so cannot run here. Following Flux's status contract, when a HelmRelease's
// reconcile.fluxcd.io/requestedAt annotation changes it reconciles once: it records the
// request in status.lastHandledReconcileAt, sets observedGeneration, and either reports
// Ready=True at the chart version attempted, or (when fail is set) Ready=False with
// UpgradeFailed.
type helmControllerTestDouble struct {
	dyn dynamic.Interface
	ns  string

	mu       sync.Mutex
	revision string // the chart version it "installs", e.g. 0.1.0+<commit> for a chart built from Git
	fail     bool
}

func newHelmControllerTestDouble(dyn dynamic.Interface, ns string) *helmControllerTestDouble {
	return &helmControllerTestDouble{dyn: dyn, ns: ns}
}

func (d *helmControllerTestDouble) set(revision string, fail bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revision, d.fail = revision, fail
}

func (d *helmControllerTestDouble) run(ctx context.Context) {
	for ctx.Err() == nil {
		list, err := d.dyn.Resource(helmReleaseGVR).Namespace(d.ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range list.Items {
				d.reconcile(ctx, &list.Items[i])
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *helmControllerTestDouble) reconcile(ctx context.Context, k *unstructured.Unstructured) {
	req := k.GetAnnotations()["reconcile.fluxcd.io/requestedAt"]
	handled, _, _ := unstructured.NestedString(k.Object, "status", "lastHandledReconcileAt")
	if req == "" || req == handled {
		return
	}
	d.mu.Lock()
	rev, fail := d.revision, d.fail
	d.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339)
	status, _, _ := unstructured.NestedMap(k.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	status["observedGeneration"] = k.GetGeneration()
	status["lastHandledReconcileAt"] = req
	status["lastAttemptedRevision"] = rev
	cond := map[string]any{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
		"message": "Applied revision: " + rev, "lastTransitionTime": now, "observedGeneration": k.GetGeneration()}
	if fail {
		cond["status"], cond["reason"], cond["message"] = "False", "UpgradeFailed", "Helm upgrade failed for release app/web: invalid value"
	}
	status["conditions"] = []any{cond}
	k.Object["status"] = status
	_, _ = d.dyn.Resource(helmReleaseGVR).Namespace(d.ns).UpdateStatus(ctx, k, metav1.UpdateOptions{})
}

// runStep runs a one-step list through the engine until it stops being Running.
func runStep(t *testing.T, dyn dynamic.Interface, ns string, cfg map[string]any, outputs map[string]any) (promotion.Result, promotion.State) {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	eng := &promotion.Engine{Registry: steps.Builtin(), Services: &promotion.Services{Dynamic: dyn}}
	state := promotion.State{Outputs: outputs}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, st := eng.Run(context.Background(), promotion.Request{
			Project: ns, Stage: "test", Promotion: "test.promo",
			Steps:   []haulv1.PromotionStep{{Uses: "flux-reconcile", As: "reconcile", Config: &apiextensionsv1.JSON{Raw: raw}}},
			WorkDir: t.TempDir(), State: state,
		})
		state = st
		if res.Phase != haulv1.PromotionRunning || time.Now().After(deadline) {
			return res, state
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFluxReconcileNamesAMissingResource(t *testing.T) {
	ns := env.Namespace(t, "flux-missing")
	dyn := dynamic.NewForConfigOrDie(env.Config)
	res, _ := runStep(t, dyn, ns, map[string]any{"resources": []any{map[string]any{"kind": "HelmRelease", "name": "nope", "namespace": ns}}, "revision": "abc"}, nil)
	if res.Phase != haulv1.PromotionErrored || !strings.Contains(res.Message, "HelmRelease "+ns+"/nope not found") {
		t.Fatalf("phase %s: %s", res.Phase, res.Message)
	}
}

func createHelmRelease(t *testing.T, dyn dynamic.Interface, ns, name string) {
	t.Helper()
	hr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"interval": "10m",
			"chart": map[string]any{"spec": map[string]any{
				"chart": "./charts/app", "reconcileStrategy": "Revision",
				"sourceRef": map[string]any{"kind": "GitRepository", "name": "app"},
			}},
		},
	}}
	if _, err := dyn.Resource(helmReleaseGVR).Namespace(ns).Create(context.Background(), hr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestFluxReconcileHelmRelease_HelmControllerTestDouble runs flux-reconcile against the
// real HelmRelease CRD with a test double playing helm-controller: a chart built from the
// pushed commit reports it as build metadata and is waited for; a release that fails to
// upgrade fails the step with helm-controller's reason; a chart from a Helm repository
// (no commit in its version) is done once the requested reconcile is handled and Ready.
func TestFluxReconcileHelmRelease_HelmControllerTestDouble(t *testing.T) {
	dyn := dynamic.NewForConfigOrDie(env.Config)
	sha := strings.Repeat("12", 20)
	pushed := map[string]any{"push": map[string]any{"commit": sha, "branch": "stage/test"}}
	for i, tc := range []struct {
		name     string
		revision string
		fail     bool
		want     haulv1.PromotionPhase
		message  string
	}{
		{"git chart at the pushed commit", "0.1.0+" + sha[:12], false, haulv1.PromotionSucceeded, "Ready at " + sha},
		{"upgrade fails", "0.1.0+" + sha[:12], true, haulv1.PromotionFailed, "UpgradeFailed"},
		{"repository chart", "1.4.2", false, haulv1.PromotionSucceeded, "Ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t, fmt.Sprintf("flux-hr-%d", i))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			double := newHelmControllerTestDouble(dyn, ns)
			double.set(tc.revision, tc.fail)
			go double.run(ctx)
			createHelmRelease(t, dyn, ns, "app")
			res, st := runStep(t, dyn, ns, map[string]any{"resources": []any{map[string]any{"kind": "HelmRelease", "name": "app", "namespace": ns}}}, pushed)
			if msg := res.Message + "; " + st.Steps[0].Message; res.Phase != tc.want || !strings.Contains(msg, tc.message) {
				t.Fatalf("phase %s: %s; want %s mentioning %q", res.Phase, msg, tc.want, tc.message)
			}
			if tc.want == haulv1.PromotionSucceeded {
				if h := steps.FluxHealth(ctx, dyn, st.HealthChecks[0].Config); h.Status != haulv1.HealthHealthy {
					t.Errorf("health = %s %v, want Healthy", h.Status, h.Issues)
				}
			}
		})
	}
	// A chart from the commit before the pushed one is not the promoted release.
	t.Run("git chart at an older commit keeps waiting", func(t *testing.T) {
		ns := env.Namespace(t, "flux-hr-old")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		double := newHelmControllerTestDouble(dyn, ns)
		double.set("0.1.0+"+strings.Repeat("9", 12), false)
		go double.run(ctx)
		createHelmRelease(t, dyn, ns, "app")
		raw, _ := json.Marshal(map[string]any{"resources": []any{map[string]any{"kind": "HelmRelease", "name": "app", "namespace": ns}}})
		eng := &promotion.Engine{Registry: steps.Builtin(), Services: &promotion.Services{Dynamic: dyn}}
		state := promotion.State{Outputs: pushed}
		// Run until helm-controller has handled the request and the step judges the
		// revision (or 10 s pass); it must still be waiting then.
		var res promotion.Result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			res, state = eng.Run(context.Background(), promotion.Request{
				Project: ns, Stage: "test", Promotion: "test.promo",
				Steps:   []haulv1.PromotionStep{{Uses: "flux-reconcile", As: "reconcile", Config: &apiextensionsv1.JSON{Raw: raw}}},
				WorkDir: t.TempDir(), State: state,
			})
			if res.Phase != haulv1.PromotionRunning || strings.Contains(res.Message, "is Ready at") {
				break
			}
		}
		if res.Phase != haulv1.PromotionRunning || !strings.Contains(res.Message, "waiting for "+sha) {
			t.Fatalf("phase %s: %s; want still Running, waiting for %s", res.Phase, res.Message, sha)
		}
	})
}
