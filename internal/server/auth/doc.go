// Package auth identifies the caller of Haul's REST API: the local admin token, OIDC ID
// tokens (bearer or session cookie, obtained through the authorization-code flow with
// PKCE) and Kubernetes bearer tokens checked with a TokenReview. It never falls back to
// the server's own identity: a request it cannot attribute to a user is rejected.
package auth
