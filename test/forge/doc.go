// Package forge tests pull-request Promotions end to end: Haul's controllers on a real
// API server, a real Gitea, and Haul's webhook receiver that Gitea calls when a pull
// request is merged or closed; akuity/kargo-simple's own pipeline runs here too, with a
// local OCI registry.
package forge
