// Package testservers runs the real servers Haul talks to, on 127.0.0.1: a Git server
// (git http-backend behind net/http/cgi), an OCI registry (go-containerregistry) and a
// Helm chart repository. Tests, benchmarks and the demo use them.
package testservers
