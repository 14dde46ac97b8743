//go:build tools

// Package tools pins Argo CD so that build.sh can compile its multi-call binary from the
// Go module proxy, without Argo CD's dependencies reaching Haul's go.mod.
package tools

import _ "github.com/argoproj/argo-cd/v3/cmd"
