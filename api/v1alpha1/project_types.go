package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ProjectSpec is empty today: a Project is a tenant, and its policies live in the
// ProjectConfig of the same name so that they can be edited by project admins.
type ProjectSpec struct{}

// ProjectStats counts what lives in the project, for lists and dashboards. The Project
// controller recounts it on every pass.
type ProjectStats struct {
	// Warehouses is the number of Warehouses in the project namespace. Kargo reports
	// Warehouse health under stats.warehouses.health instead.
	// +optional
	Warehouses int32 `json:"warehouses"`
	// Stages is the number of Stages in the project namespace. Kargo reports Stage
	// health under stats.stages.health instead.
	// +optional
	Stages int32 `json:"stages"`
	// HealthyStages is how many of those Stages report status.health.status Healthy.
	// +optional
	HealthyStages int32 `json:"healthyStages"`
	// UnhealthyStages is how many of those Stages report Unhealthy.
	// +optional
	UnhealthyStages int32 `json:"unhealthyStages,omitempty"`
	// StagesWithoutHealthChecks is how many of those Stages have nothing to assess
	// health with (no Argo CD or Flux step): they are neither healthy nor unhealthy.
	// +optional
	StagesWithoutHealthChecks int32 `json:"stagesWithoutHealthChecks,omitempty"`
}

// ProjectStatus reports whether the project's namespace and roles are in place.
type ProjectStatus struct {
	// ObservedGeneration is the metadata.generation of the Project the controller last
	// reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions hold the latest observations of the Project. Ready is True once the
	// namespace of the same name exists, carries the haul.dev/project label, and the
	// project roles are in place; its reason says what is missing otherwise
	// (NamespaceNotOwned, NamespaceTerminating, ReconcileError).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// Stats counts the project's Warehouses and Stages.
	// +optional
	Stats ProjectStats `json:"stats,omitzero"`
}

// Project is a tenant. It owns the namespace of the same name, where its Warehouses,
// Stages, Freight and Promotions live. Deleting a Project deletes that namespace unless
// the Project carries the haul.dev/keep-namespace annotation.
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
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is empty: a project's policies live in its ProjectConfig.
	// +optional
	Spec ProjectSpec `json:"spec,omitzero"`
	// Status is written by the Project controller.
	// +optional
	Status ProjectStatus `json:"status,omitzero"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Projects.
	Items []Project `json:"items"`
}
