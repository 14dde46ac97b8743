// Package server is Haul's REST API: JSON reads of projects, warehouses, stages, freight
// and promotions, the actions a dashboard offers (promote, approve, abort, refresh,
// apply), and a per-project stream of changes as server-sent events. Every request runs
// with the caller's own Kubernetes rights, checked by impersonation or access review.
package server
