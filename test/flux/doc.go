// Package flux tests the flux-reconcile step and Flux health checks against the real
// Flux CRDs (vendored under testdata) on a real API server, with a test double playing
// the Flux controllers by Flux's documented status contract.
package flux
