//go:build flux

package flux

import (
	"context"
	"fmt"
	"os"

	"github.com/haul-dev/haul/internal/testservers"
)

// fluxControllers are the real Flux controllers the flux-tagged tests run against.
var fluxControllers *testservers.Flux

// startFluxControllers installs Flux's own CRDs (copied from the controllers' modules by
// hack/flux/build.sh) and starts source-controller and kustomize-controller. stop
// prints their log tails when a test failed.
func startFluxControllers(ctx context.Context) (stop func(failed bool), err error) {
	bins := testservers.DefaultFluxBinaries()
	if err := testservers.InstallFluxCRDs(ctx, env.Client, bins.CRDDir); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "haul-flux-")
	if err != nil {
		return nil, err
	}
	fluxControllers, err = testservers.StartFlux(ctx, env.Client, testservers.FluxOptions{FluxBinaries: bins, Dir: dir, Config: env.Config})
	if err != nil {
		return nil, err
	}
	return func(failed bool) {
		if err := fluxControllers.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping Flux:", err)
		}
		if failed {
			for _, name := range []string{"source-controller", "kustomize-controller"} {
				fmt.Fprintf(os.Stderr, "--- %s log (tail) ---\n%s\n", name, fluxControllers.Logs(name, 8000))
			}
			fmt.Fprintln(os.Stderr, "Flux logs kept in", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}, nil
}
