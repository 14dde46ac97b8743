package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// syncBuffer is a bytes.Buffer the controller's goroutines may write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startController runs `haul controller` with extra flags against the test API server
// until the test ends. done receives its exit; out collects what it printed.
func startController(t *testing.T, flags ...string) (done <-chan error, out *syncBuffer) {
	t.Helper()
	kubeconfig := writeKubeconfig(t, env.Config, "")
	root := NewRootCommand()
	out = &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	args := append([]string{"--kubeconfig", kubeconfig, "controller"}, flags...)
	root.SetArgs(append(args, "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--work-dir", t.TempDir(), "--log-level", "error"))
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan error, 1)
	go func() { exited <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Error("haul controller did not stop")
		}
	})
	return exited, out
}

// TestControllerSecurityFlagsReachTheSteps runs one `haul controller` (controller-runtime
// allows one set of controllers per process) with --deny-private-http and
// --deny-plain-http-git, and checks that each flag reaches what it guards.
func TestControllerSecurityFlagsReachTheSteps(t *testing.T) {
	done, out := startController(t, "--deny-private-http", "--deny-plain-http-git")
	t.Run("deny-private-http refuses a loopback http step", func(t *testing.T) { checkDenyPrivateHTTP(t, done, out) })
	t.Run("deny-plain-http-git refuses http remotes", func(t *testing.T) { checkDenyPlainHTTPGit(t, done, out) })
}

// checkDenyPrivateHTTP promotes through an http step aimed at a real server on
// 127.0.0.1: the step must refuse the loopback address without sending a request.
func checkDenyPrivateHTTP(t *testing.T, done <-chan error, out *syncBuffer) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	ns := env.Namespace(t, "deny-private")

	raw, _ := json.Marshal(map[string]any{"url": srv.URL + "/ready", "timeout": "5s"})
	stage := &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: haulv1.StageSpec{
			RequestedFreight: []haulv1.FreightRequest{{
				Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Sources: haulv1.FreightSources{Direct: true},
			}},
			PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
				{Uses: "http", As: "probe", Config: &apiextensionsv1.JSON{Raw: raw}},
			}}},
		},
	}
	freight := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "f0123456789a"},
		Origin:     haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "example.com/app", Tag: "1.0.0"}},
	}
	promo := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test-probe"},
		Spec:       haulv1.PromotionSpec{Stage: "test", Freight: freight.Name},
	}
	for _, o := range []client.Object{stage, freight, promo} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	p := &haulv1.Promotion{}
	for {
		select {
		case err := <-done:
			t.Fatalf("haul controller exited: %v\n%s", err, out.String())
		default:
		}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(promo), p); err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase.IsTerminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Promotion still %q: %s", p.Status.Phase, p.Status.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.Status.Phase == haulv1.PromotionSucceeded {
		t.Fatalf("the http step reached %s despite --deny-private-http", srv.URL)
	}
	for _, want := range []string{srv.URL + "/ready", "not allowed", "loopback", "--deny-private-http"} {
		if !strings.Contains(p.Status.Message, want) {
			t.Fatalf("message %q does not contain %q", p.Status.Message, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server on 127.0.0.1 got %d requests", n)
	}
}

// TestUpTakesDenyPrivateHTTP: `haul up` has the same flag, parsed into its options.
func TestUpTakesDenyPrivateHTTP(t *testing.T) {
	cmd, rest, err := NewRootCommand().Find([]string{"up", "--deny-private-http"})
	if err != nil || cmd.Name() != "up" {
		t.Fatalf("finding up: %v", err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	if v, err := cmd.Flags().GetBool("deny-private-http"); err != nil || !v {
		t.Fatalf("--deny-private-http parsed as %v (%v)", v, err)
	}
	if !strings.Contains(cmd.Flags().Lookup("deny-private-http").Usage, "loopback") {
		t.Fatalf("usage does not say what is refused: %q", cmd.Flags().Lookup("deny-private-http").Usage)
	}
}
