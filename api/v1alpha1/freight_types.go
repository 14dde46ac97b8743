package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FreightOriginKind is the kind of object Freight comes from.
// +kubebuilder:validation:Enum=Warehouse
type FreightOriginKind string

// FreightOriginKindWarehouse is the only origin kind today.
const FreightOriginKindWarehouse FreightOriginKind = "Warehouse"

// FreightOrigin names where Freight came from; Stages request Freight by origin.
type FreightOrigin struct {
	// +required
	Kind FreightOriginKind `json:"kind"`
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// String renders the origin as Kind/name.
func (o FreightOrigin) String() string { return string(o.Kind) + "/" + o.Name }

// Image is one image version in Freight.
type Image struct {
	// +required
	RepoURL string `json:"repoURL"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// +optional
	Digest string `json:"digest,omitempty"`
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// GitCommit is one commit in Freight.
type GitCommit struct {
	// +required
	RepoURL string `json:"repoURL"`
	// +required
	ID string `json:"id"`
	// +optional
	Branch string `json:"branch,omitempty"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	Author string `json:"author,omitempty"`
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// Chart is one Helm chart version in Freight.
type Chart struct {
	// +required
	RepoURL string `json:"repoURL"`
	// +optional
	Name string `json:"name,omitempty"`
	// +required
	Version string `json:"version"`
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// CurrentStage records since when Freight is in a Stage.
type CurrentStage struct {
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// VerifiedStage records that Freight passed verification in a Stage.
type VerifiedStage struct {
	// +optional
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
	// LongestSoak is the longest continuous time the Freight has been in the Stage.
	// +optional
	LongestSoak *metav1.Duration `json:"longestSoak,omitempty"`
}

// ApprovedStage records a manual approval of Freight for a Stage.
type ApprovedStage struct {
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
}

// FreightStatus records where the Freight is, where it was verified, and approvals.
type FreightStatus struct {
	// +optional
	CurrentlyIn map[string]CurrentStage `json:"currentlyIn,omitempty"`
	// +optional
	VerifiedIn map[string]VerifiedStage `json:"verifiedIn,omitempty"`
	// +optional
	ApprovedFor map[string]ApprovedStage `json:"approvedFor,omitempty"`
	// +optional
	Metadata map[string]apiextensionsv1.JSON `json:"metadata,omitempty"`
}

// Freight is an immutable bundle of artifact versions. Its name is the hash of its
// origin and artifacts, so the same content never makes two Freight.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="has(self.images) == has(oldSelf.images) && has(self.commits) == has(oldSelf.commits) && has(self.charts) == has(oldSelf.charts)",message="Freight content (images, commits, charts) is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.images) || has(self.commits) || has(self.charts)",message="Freight must hold at least one of images, commits or charts"
// +kubebuilder:printcolumn:name="Alias",type=string,JSONPath=`.alias`
// +kubebuilder:printcolumn:name="Origin",type=string,JSONPath=`.origin.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Freight struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Alias is a human-friendly name, unique in the project; it may be changed.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Alias string `json:"alias,omitempty"`
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="origin is immutable"
	Origin FreightOrigin `json:"origin"`
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="images is immutable"
	Images []Image `json:"images,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="commits is immutable"
	Commits []GitCommit `json:"commits,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="charts is immutable"
	Charts []Chart `json:"charts,omitempty"`

	// +optional
	Status FreightStatus `json:"status,omitzero"`
}

// FreightList is a list of Freight.
//
// +kubebuilder:object:root=true
type FreightList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Freight `json:"items"`
}
