// Package promotion reconciles Promotions: it queues them per Stage (one runs at a time,
// oldest first; the lock is a Lease per Stage, see lock.go), snapshots the Stage's steps
// when one starts, and runs them with the promotion engine, persisting progress after
// every step. It writes Promotion.status and the lock only; the Stage controller records
// what a Promotion did on the Stage and its Freight.
package promotion
