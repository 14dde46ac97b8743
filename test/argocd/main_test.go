//go:build argocd

package argocd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/haul-dev/haul/charts/haul/crds"
	"github.com/haul-dev/haul/internal/controlplane"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

var (
	cfg    *rest.Config
	k8s    client.Client
	argo   *testservers.ArgoCD
	crdDir string
)

// TestMain starts an API server that works inside a loopback-only network namespace,
// installs Haul's and Argo CD's CRDs, and starts Argo CD.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	crdDir = os.Getenv("HAUL_ARGOCD_CRDS")
	if crdDir == "" {
		fmt.Fprintln(os.Stderr, "HAUL_ARGOCD_CRDS is not set; run these tests with hack/argocd/test.sh")
		return 1
	}
	assets, err := controlplane.FindAssets("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crdList, err := crds.CRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	te := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: crdList, Scheme: testenv.Scheme()}
	api := te.ControlPlane.GetAPIServer()
	api.Configure().Set("advertise-address", "127.0.0.1").Set("endpoint-reconciler-type", "none")
	cfg, err = te.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the API server:", err)
		return 1
	}
	defer func() { _ = te.Stop() }()
	cfg.QPS, cfg.Burst = 500, 1000
	k8s, err = client.New(cfg, client.Options{Scheme: te.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := testenv.InstallPolicies(ctx, k8s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := testservers.InstallArgoCDCRDs(ctx, k8s, crdDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, _ := os.MkdirTemp("", "haul-argocd-")
	argo, err = testservers.StartArgoCD(ctx, k8s, testservers.ArgoCDOptions{
		Binary: testservers.DefaultArgoCDBinary(), CRDDir: crdDir, Dir: dir, Config: cfg,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Argo CD:", err)
		return 1
	}
	defer argo.Stop()
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "--- application-controller log (tail) ---")
		fmt.Fprintln(os.Stderr, argo.Logs("application-controller", 6000))
		fmt.Fprintln(os.Stderr, "--- repo-server log (tail) ---")
		fmt.Fprintln(os.Stderr, argo.Logs("repo-server", 3000))
	} else {
		_ = os.RemoveAll(filepath.Clean(dir))
	}
	return code
}
