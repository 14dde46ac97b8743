//go:build !flux

package flux

import "context"

// startFluxControllers starts nothing without the flux tag: only the tests against the
// helm-controller double run.
func startFluxControllers(context.Context) (stop func(failed bool), err error) {
	return func(bool) {}, nil
}
