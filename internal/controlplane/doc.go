// Package controlplane runs a real etcd and kube-apiserver (and kube-controller-manager
// for namespace deletion and garbage collection) as child processes, keeping their data
// under a directory so that a restart keeps every object.
package controlplane
