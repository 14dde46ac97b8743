//go:build tools

// Package tools pins Flux's kustomize-controller so that ../build.sh can compile it from
// the Go module proxy, without Flux's dependencies reaching Haul's go.mod.
package tools

import _ "github.com/fluxcd/kustomize-controller"
