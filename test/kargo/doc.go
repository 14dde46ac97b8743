// Package kargo is the Kargo compatibility suite: Kargo's own configuration (the
// akuity/kargo-simple and akuity/kargo-advanced example repositories and every Kargo
// object of Kargo's documentation, in testdata/ as written by hack/kargofixtures) goes
// through what `haul apply` runs before it writes anything, and each fixture must be
// accepted with the same meaning or be refused on purpose (docs/kargo-compatibility.md).
package kargo
