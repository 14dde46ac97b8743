// Package v1alpha1 holds the haul.dev/v1alpha1 API: the custom resources Haul stores in
// Kubernetes. It imports only apimachinery so API consumers can depend on it alone.
//
// +kubebuilder:object:generate=true
// +groupName=haul.dev
package v1alpha1
