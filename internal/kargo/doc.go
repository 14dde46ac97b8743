// Package kargo converts Kargo manifests (kargo.akuity.io/v1alpha1), including older
// Kargo shapes, into Haul's API (haul.dev/v1alpha1), so Kargo users can apply what they have.
package kargo
