package rollouts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	promotionctrl "github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

// TestMain starts one API server for the package; with the rollouts tag it also
// installs Argo Rollouts' CRDs and starts its controller (see startRollouts).
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	e, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	env = e
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stop, err := startRollouts(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Argo Rollouts:", err)
		return 1
	}
	code := m.Run()
	stop(code != 0)
	return code
}

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func raw(v any) *apiextensionsv1.JSON {
	b, _ := json.Marshal(v)
	return &apiextensionsv1.JSON{Raw: b}
}

// eventually polls cond until it holds, failing with its last message after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// startHaul runs Haul's Stage and Promotion controllers in the test process.
func startHaul(t *testing.T) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "haul.log")
	logf, err := os.Create(logPath)
	must(t, err)
	ctrl.SetLogger(zap.New(zap.WriteTo(logf)))
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- Haul controllers log (tail) ---\n%s", b)
		}
	})
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	must(t, err)
	work := t.TempDir()
	must(t, stage.SetupWithManager(mgr, stage.Options{Interval: 2 * time.Second, HealthInterval: time.Second, WorkDir: work}))
	must(t, promotionctrl.SetupWithManager(mgr, promotionctrl.Options{WorkDir: work}))
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = mgr.Start(c) }()
}

var origin = haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}

// newStage is a Stage taking Freight straight from origin, whose promotion writes a
// file, verified as v says.
func newStage(ns, name string, v *haulv1.Verification) *haulv1.Stage {
	s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	req := haulv1.FreightRequest{Origin: origin}
	req.Sources.Direct = true
	s.Spec.RequestedFreight = []haulv1.FreightRequest{req}
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
		{Uses: "file-write", Config: raw(map[string]any{"path": "promoted.txt", "contents": "ok"})},
	}}}
	s.Spec.Verification = v
	return s
}

// promote creates Freight with the image tag and a Promotion of it to the Stage.
func promote(t *testing.T, ns, stageName, tag string) *haulv1.Freight {
	t.Helper()
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040x", time.Now().UnixNano())},
		Alias:      "v" + strings.ReplaceAll(tag, ".", "-"), Origin: origin,
		Images: []haulv1.Image{{RepoURL: "registry.example/app", Tag: tag}},
	}
	must(t, env.Client.Create(ctx, f))
	p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: stageName + "-" + f.Name[28:]}}
	p.Spec.Stage, p.Spec.Freight = stageName, f.Name
	must(t, env.Client.Create(ctx, p))
	return f
}

func getStage(t testing.TB, ns, name string) *haulv1.Stage {
	t.Helper()
	s := &haulv1.Stage{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s))
	return s
}

func latestRun(s *haulv1.Stage) *haulv1.VerificationResult {
	if len(s.Status.FreightHistory) == 0 || len(s.Status.FreightHistory[0].VerificationHistory) == 0 {
		return nil
	}
	return &s.Status.FreightHistory[0].VerificationHistory[0]
}

// waitRun waits for the Stage's latest verification run of Freight f to reach a final
// phase (anything but Running/Pending) and returns it.
func waitRun(t *testing.T, ns, name string, f *haulv1.Freight, timeout time.Duration) *haulv1.VerificationResult {
	t.Helper()
	var got *haulv1.VerificationResult
	eventually(t, timeout, "a finished verification of "+f.Alias+" in "+name, func() (bool, string) {
		s := getStage(t, ns, name)
		if len(s.Status.FreightHistory) == 0 || s.Status.FreightHistory[0].Items[origin.String()].Name != f.Name {
			return false, "the Stage does not hold the Freight yet"
		}
		got = latestRun(s)
		if got == nil {
			return false, "no verification run yet"
		}
		return got.Phase != "Running" && got.Phase != "Pending", fmt.Sprintf("%s: %s", got.Phase, got.Message)
	})
	return got
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
