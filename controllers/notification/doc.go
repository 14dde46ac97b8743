// Package notification turns Promotion and verification events into messages.
//
// Two small reconcilers watch Promotions and Stages and publish an event
// (notify.Event) when a Promotion starts or ends, or a verification ends. The Router
// (the notify.Hub Haul runs with) matches each event against the project's
// EventRouters and every ClusterEventRouter — types, then the `when` expression —
// renders each channel's output and hands the message to a notify.Dispatcher, which
// delivers in the background with retries. Nothing here ever blocks or fails a
// Promotion. The outcome of every delivery is written to the channel's status (this
// package is that status's only writer), counted in haul_notifications_total, and
// logged without secrets.
//
// Events are published once per process: a restarted controller does not repeat the
// events of Promotions and verifications that ended before it started.
package notification
