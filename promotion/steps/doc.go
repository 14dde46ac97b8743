// Package steps holds Haul's built-in promotion steps, one per file, each registered in
// promotion.DefaultRegistry from init. Import it for its side effect.
package steps
