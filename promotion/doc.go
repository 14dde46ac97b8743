// Package promotion runs the steps of a Promotion: a registry of step kinds, an engine
// that runs steps in order with if/continueOnError/retry semantics and persistable
// State, and ${{ expression }} evaluation. It has no controller-runtime imports.
package promotion
