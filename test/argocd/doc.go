// Package argocd runs a Haul pipeline against a real Argo CD (application controller and
// repo server built by hack/argocd) and a real API server. The tests are opt-in: build
// tag `argocd`, driven by hack/argocd/test.sh, which runs them in a network namespace.
package argocd
