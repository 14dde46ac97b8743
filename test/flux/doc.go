// Package flux tests the flux-reconcile step and Stage health from Flux objects. Built
// with the flux tag (make test-flux) it runs them against the real source-controller and
// kustomize-controller (hack/flux/build.sh) on a real API server; HelmRelease, whose
// controller the module proxy does not serve, is tested against a named helm-controller
// double in every build.
package flux
