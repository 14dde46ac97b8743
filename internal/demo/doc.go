// Package demo runs the local demo of `haul up --demo`: an OCI registry, a Git server
// holding a kustomize GitOps repository, a tiny "guestbook" app to verify against, and a
// project whose Freight flows test → uat → prod by itself. Everything lives under
// <data-dir>/demo so that a restart reuses it.
package demo
