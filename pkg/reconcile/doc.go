// Package reconcile is the shape Haul's reconcilers share, after Flux's
// source-controller and Cluster API: Reconcile gets the object, runs an ordered list
// of sub-reconcilers that stop at the first error, and a deferred step summarises the
// result into kstatus conditions and patches status once.
//
// Errors are typed by what they mean for the object (see Kind): Transient errors
// retry with backoff, Waiting errors requeue after a known time, and Stalling errors
// wait for the object to change. Summary.Apply turns the outcome into Ready,
// Reconciling and Stalled and into the ctrl.Result the controller returns, so the
// rules live in one place and are table-tested here.
package reconcile
