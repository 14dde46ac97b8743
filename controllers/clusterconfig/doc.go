// Package clusterconfig owns ClusterConfig.status: it publishes where each of the
// ClusterConfig's cluster-wide webhook receivers listens. It is the one writer of that
// status.
package clusterconfig
