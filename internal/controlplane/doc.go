// Package controlplane runs a real etcd and kube-apiserver as child processes, keeping
// their data under a directory so that a restart keeps every object.
package controlplane
