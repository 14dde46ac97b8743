//go:build tools

// Package tools pins Gitea so that build.sh can compile its server from the Go module
// proxy for the pull-request step tests, without Gitea's dependencies reaching Haul's
// go.mod.
package tools

import _ "code.gitea.io/gitea"
