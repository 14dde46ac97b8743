// Package promotion reconciles Promotions: it queues them per Stage (one runs at a
// time, oldest first, the Stage's status.currentPromotion being the lock), snapshots the
// Stage's steps when one starts, runs them with the promotion engine persisting progress
// after every step, and records promoted Freight on the Stage and the Freight.
package promotion
