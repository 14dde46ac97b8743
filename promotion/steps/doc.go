// Package steps holds Haul's built-in promotion steps, one per file. Builtin, in
// registry.go, lists them all and returns the registry an Engine runs them from.
package steps
