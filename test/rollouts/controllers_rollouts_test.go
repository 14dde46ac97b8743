//go:build rollouts

package rollouts

import (
	"context"
	"fmt"
	"os"

	"github.com/haul-dev/haul/internal/testservers"
)

// rolloutsController is the real Argo Rollouts controller the rollouts-tagged tests use.
var rolloutsController *testservers.Rollouts

// startRollouts installs Argo Rollouts' CRDs (copied from its module by
// hack/rollouts/build.sh) and starts rollouts-controller. stop prints its log tail
// when a test failed.
func startRollouts(ctx context.Context) (stop func(failed bool), err error) {
	bins := testservers.DefaultRolloutsBinaries()
	if err := testservers.InstallRolloutsCRDs(ctx, env.Client, bins.CRDDir); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "haul-rollouts-")
	if err != nil {
		return nil, err
	}
	rolloutsController, err = testservers.StartRollouts(ctx, env.Client, bins, dir, env.Config)
	if err != nil {
		return nil, err
	}
	return func(failed bool) {
		rolloutsController.Stop()
		if failed {
			fmt.Fprintf(os.Stderr, "--- rollouts-controller log (tail) ---\n%s\nkept in %s\n", rolloutsController.Logs(8000), dir)
			return
		}
		_ = os.RemoveAll(dir)
	}, nil
}
