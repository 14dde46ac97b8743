// Package testenv starts a real kube-apiserver and etcd (envtest, with binaries built
// from source by hack/controlplane) with Haul's CRDs installed, for integration tests.
package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/charts/haul/crds"
	"github.com/haul-dev/haul/internal/controlplane"
)

// Env is a running API server with Haul's CRDs.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	env    *envtest.Environment
}

// Scheme returns a scheme with the Kubernetes built-ins, apiextensions and Haul types.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	_ = haulv1.AddToScheme(s)
	return s
}

// Start starts the API server. Call Stop when done (usually from TestMain).
func Start() (*Env, error) {
	assets, err := controlplane.FindAssets("")
	if err != nil {
		return nil, err
	}
	crdList, err := crds.CRDs()
	if err != nil {
		return nil, err
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDs:                  crdList,
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme(),
	}
	// HAUL_TEST_APISERVER_ARGS sets kube-apiserver flags, comma-separated, e.g.
	// "--event-ttl=2m,--etcd-compaction-interval=1m" for a benchmark that shows what
	// etcd keeps once Events expire and old revisions are compacted.
	if extra := os.Getenv("HAUL_TEST_APISERVER_ARGS"); extra != "" {
		args := te.ControlPlane.GetAPIServer().Configure()
		for _, a := range strings.Split(extra, ",") {
			name, value, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(a), "--"), "=")
			args.Set(name, value)
		}
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	// Parallel tests hammer one API server; the client-go defaults (5 qps) would throttle them.
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: te.Scheme})
	if err != nil {
		_ = te.Stop()
		return nil, err
	}
	e := &Env{Config: cfg, Client: c, Scheme: te.Scheme, env: te}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := InstallPolicies(ctx, c); err != nil {
		_ = te.Stop()
		return nil, err
	}
	return e, nil
}

// InstallPolicies creates the admission policies shipped with the CRDs.
func InstallPolicies(ctx context.Context, c client.Client) error {
	pols, binds, err := crds.Policies()
	if err != nil {
		return err
	}
	for _, p := range pols {
		if err := c.Create(ctx, p); err != nil {
			return fmt.Errorf("installing policy %s: %w", p.Name, err)
		}
	}
	for _, b := range binds {
		if err := c.Create(ctx, b); err != nil {
			return fmt.Errorf("installing policy binding %s: %w", b.Name, err)
		}
	}
	return nil
}

// EtcdURL is the client URL of the environment's etcd (its /metrics is served there),
// for benchmarks that report the database size.
func (e *Env) EtcdURL() string {
	if e.env.ControlPlane.Etcd == nil || e.env.ControlPlane.Etcd.URL == nil {
		return ""
	}
	return e.env.ControlPlane.Etcd.URL.String()
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// Run is a TestMain helper: it starts the environment, stores it in *env, runs the
// tests and stops it. Without the control-plane binaries it fails and says how to build them.
func Run(m *testing.M, env **Env) int {
	if Fuzzing() {
		// A fuzz run (-fuzz) runs only its target, in several worker processes: an
		// API server in each would cost a start and a slow stop and serve nothing.
		return m.Run()
	}
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stopping:", err)
	}
	return code
}

// Fuzzing reports whether the test binary runs a fuzz target (-test.fuzz set, in the
// coordinator or a worker); it parses the flags if they are not yet parsed.
func Fuzzing() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return true
	}
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

// Namespace creates a namespace for one test, removed when the test ends.
func (e *Env) Namespace(t testing.TB, name string) string {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = name
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return name
}

// Impersonate returns a client acting as the given user and groups, for RBAC tests.
func (e *Env) Impersonate(user string, groups ...string) (client.Client, error) {
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return client.New(cfg, client.Options{Scheme: e.Scheme})
}
