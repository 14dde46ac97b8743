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
	// WebhookReceivers are cluster-wide receivers, as Kargo's: each listens at
	// /webhooks/-/cluster/<name>, reads its Secret from the cluster secrets namespace
	// (haul's --shared-credentials-namespace) and refreshes the subscribed Warehouses
	// of every project; a generic receiver's actions select in every project. At most
	// 20, with unique names.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	WebhookReceivers []WebhookReceiver `json:"webhookReceivers,omitempty"`
	// GitClient is the default identity of the commits Haul makes, as Kargo's: the
	// author and committer of a git-commit step whose config names no author, in a work
	// tree whose git-clone named none either (a step's author always wins; without
	// either, Haul's own identity is used). Kargo's signingKeySecret is not taken:
	// Haul does not sign commits.
	// +optional
	GitClient *GitClient `json:"gitClient,omitempty"`
}

// GitClient is a Git identity (name and email) for commits.
type GitClient struct {
	// Name is the author and committer name of the commits.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// Email is the author and committer email address of the commits.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Format=email
	Email string `json:"email"`
}

// ClusterConfigStatus is written by the ClusterConfig controller.
type ClusterConfigStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// WebhookReceivers publishes where each receiver of spec.webhookReceivers listens.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	WebhookReceivers []WebhookReceiverStatus `json:"webhookReceivers,omitempty"`
	// Conditions hold Ready, which says whether the receivers were published.
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

	// Spec holds the cluster-wide promotion windows, webhook receivers and Git identity.
	// +optional
	Spec ClusterConfigSpec `json:"spec,omitzero"`
	// Status publishes where the cluster-wide receivers listen.
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
