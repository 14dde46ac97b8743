package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ProjectSpec is empty today: a Project is a tenant, and its policies live in the
// ProjectConfig of the same name so that they can be edited by project admins.
type ProjectSpec struct{}

// ProjectStats counts what lives in the project, for lists and dashboards.
type ProjectStats struct {
	// +optional
	Warehouses int32 `json:"warehouses"`
	// +optional
	Stages int32 `json:"stages"`
	// +optional
	HealthyStages int32 `json:"healthyStages"`
}

// ProjectStatus reports whether the project's namespace and roles are in place.
type ProjectStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Stats ProjectStats `json:"stats,omitzero"`
}

// Project is a tenant. It owns the namespace of the same name, where its Warehouses,
// Stages, Freight and Promotions live.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul,shortName=proj
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name must be at most 63 characters: it names a namespace"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Stages",type=integer,JSONPath=`.status.stats.stages`
// +kubebuilder:printcolumn:name="Warehouses",type=integer,JSONPath=`.status.stats.warehouses`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ProjectSpec `json:"spec,omitzero"`
	// +optional
	Status ProjectStatus `json:"status,omitzero"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Project `json:"items"`
}
