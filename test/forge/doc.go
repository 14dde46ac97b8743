// Package forge tests pull-request Promotions end to end: the Promotion and Stage
// controllers on a real API server, a real Gitea, and Haul's webhook receiver that
// Gitea calls when a pull request is merged or closed.
package forge
