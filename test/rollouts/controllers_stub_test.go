//go:build !rollouts

package rollouts

import "context"

// startRollouts installs and starts nothing without the rollouts tag: the API server
// has no Argo Rollouts CRDs, which is what the tests of this build are about.
func startRollouts(context.Context) (stop func(failed bool), err error) {
	return func(bool) {}, nil
}
