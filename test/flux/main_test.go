package flux

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

var env *testenv.Env

// TestMain starts one API server for the package and installs the vendored HelmRelease
// CRD the helm-controller double works against. Built with the flux tag (make
// test-flux), it also installs Flux's CRDs from the controllers' modules and starts the
// real source-controller and kustomize-controller.
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
	if err := testservers.InstallFluxCRDs(ctx, env.Client, "testdata/crds"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stop, err := startFluxControllers(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Flux:", err)
		return 1
	}
	code := m.Run()
	stop(code != 0)
	return code
}
