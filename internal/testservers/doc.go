// Package testservers runs the real servers Haul talks to, on 127.0.0.1: a Git server
// (git http-backend behind net/http/cgi), an OCI registry (go-containerregistry) and a
// Helm chart repository, and the real controllers built into the cache (Argo CD, Flux,
// Argo Rollouts, Gitea). Tests, benchmarks, the demo and `haul up --reconciler flux` use
// them.
package testservers
