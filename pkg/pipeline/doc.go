// Package pipeline holds the pure rules of a promotion pipeline: which Freight is
// available to a Stage, which Stages form a cycle, whether a project policy enables
// auto-promotion, and which Freight auto-promotion should pick. It has no
// controller-runtime imports so the CLI, the API server and the controllers share it.
package pipeline
