// Package warehouse discovers artifact versions (container images, Git commits and Helm
// charts) for Warehouse subscriptions, ranks them best first, and computes Freight IDs
// and aliases. It is a plain library: the Warehouse controller drives it, and it never
// talks to the Kubernetes API.
package warehouse
