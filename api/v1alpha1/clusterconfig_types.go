package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClusterConfigName is the one name a ClusterConfig may have, as in Kargo.
const ClusterConfigName = "cluster"

// ClusterConfigSpec holds settings for every project of the cluster.
type ClusterConfigSpec struct {
	// PromotionWindows gate promotions in every project they select (projectSelector)
	// and every Stage there they select (stageSelector), on top of each project's own
	// windows: a Deny window here is a cluster-wide freeze ("stop the line"). At most
	// 50, with unique names.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	PromotionWindows []PromotionWindow `json:"promotionWindows,omitempty"`
}

// ClusterConfigStatus is reserved; Haul writes none today.
type ClusterConfigStatus struct {
	// Conditions are reserved for the config's validity.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// ClusterConfig holds the cluster-wide configuration, as Kargo's: one object named
// `cluster`.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="metadata.name must be cluster: there is one ClusterConfig"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterConfig struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the cluster-wide promotion windows.
	// +optional
	Spec ClusterConfigSpec `json:"spec,omitzero"`
	// Status is reserved.
	// +optional
	Status ClusterConfigStatus `json:"status,omitzero"`
}

// ClusterConfigList is a list of ClusterConfigs.
//
// +kubebuilder:object:root=true
type ClusterConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterConfigs.
	Items []ClusterConfig `json:"items"`
}
