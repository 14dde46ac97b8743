//go:build tools

// Package tools pins Argo Rollouts' controller command so `go build` of it resolves from this
// wrapper module, never from Haul's go.mod.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
