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
	// Kind of the origin; Warehouse is the only kind.
	// +required
	Kind FreightOriginKind `json:"kind"`
	// Name of the origin Warehouse, in the same namespace; 1 to 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// String renders the origin as Kind/name.
func (o FreightOrigin) String() string { return string(o.Kind) + "/" + o.Name }

// Image is one image version in Freight.
type Image struct {
	// RepoURL is the image repository, without tag or digest.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// Tag is the image tag; steps such as kustomize-set-image write it unless told to
	// use the digest.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Tag string `json:"tag,omitempty"`
	// Digest is the manifest digest the tag pointed at, e.g. sha256:....
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Digest string `json:"digest,omitempty"`
	// Annotations are the image's OCI annotations, as Kargo records them; at most 64.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
	// SubscriptionName is the name of the Warehouse subscription that found the image,
	// if it has one. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// GitCommit is one commit in Freight.
type GitCommit struct {
	// RepoURL is the Git repository.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// ID is the commit's full hash; git-clone checks it out.
	// +required
	// +kubebuilder:validation:MaxLength=256
	ID string `json:"id"`
	// Branch is the branch the commit was the newest of, for NewestFromBranch.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Branch string `json:"branch,omitempty"`
	// Tag is the tag that selected the commit, for the tag strategies.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Tag string `json:"tag,omitempty"`
	// Message is the commit's subject (or tag annotation), cut to 1024 bytes when the
	// Warehouse mints Freight.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`
	// Author is the commit's author as "name <email>".
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Author string `json:"author,omitempty"`
	// Committer is the commit's committer as "name <email>".
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Committer string `json:"committer,omitempty"`
	// SubscriptionName is the name of the Warehouse subscription that found the commit,
	// if it has one. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// Chart is one Helm chart version in Freight.
type Chart struct {
	// RepoURL is the chart repository (http(s)) or the OCI chart (oci://).
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// Name is the chart's name in an http(s) repository; empty for OCI.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// Version is the chart version.
	// +required
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version"`
	// SubscriptionName is the name of the Warehouse subscription that found the chart,
	// if it has one. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
}

// CurrentStage records since when Freight is in a Stage.
type CurrentStage struct {
	// Since is when the Freight arrived in the Stage (its Promotion finished).
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// VerifiedStage records that Freight passed verification in a Stage.
type VerifiedStage struct {
	// VerifiedAt is when verification passed in the Stage (for a control-flow Stage,
	// with no steps, when the Freight became available to it).
	// +optional
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
	// LongestSoak is the longest continuous time the Freight stayed in the Stage,
	// recorded once it has left; a downstream requiredSoakTime is measured against it
	// or against the current stay.
	// +optional
	LongestSoak *metav1.Duration `json:"longestSoak,omitempty"`
}

// ApprovedStage records a manual approval of Freight for a Stage.
type ApprovedStage struct {
	// ApprovedAt is when the approval was given.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// ApprovedBy is who approved (the user name `haul approve` or the dashboard
	// authenticated). Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	ApprovedBy string `json:"approvedBy,omitempty"`
}

// FreightApproval is one person's approval of Freight for a Stage.
type FreightApproval struct {
	// Stage is the Stage the Freight was approved for.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Stage string `json:"stage"`
	// Identity is who approved, as the Haul server (or the API server, for `haul
	// approve` by an admin) authenticated them; never a name the client supplied.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Identity string `json:"identity"`
	// Groups are the groups the identity belonged to when approving, at most 100; an
	// approval requirement's allowedGroups is checked against them.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=1024
	// +listType=atomic
	Groups []string `json:"groups,omitempty"`
	// ApprovedAt is when the approval was given.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
}

// FreightStatus records where the Freight is, where it was verified, and approvals.
// The Stage controller and `haul approve` write it; Freight content never changes.
type FreightStatus struct {
	// CurrentlyIn maps the name of every Stage that holds this Freight now to since when.
	// +optional
	CurrentlyIn map[string]CurrentStage `json:"currentlyIn,omitempty"`
	// VerifiedIn maps the name of every Stage where this Freight passed verification;
	// Stages downstream of those may take it.
	// +optional
	VerifiedIn map[string]VerifiedStage `json:"verifiedIn,omitempty"`
	// ApprovedFor maps the name of every Stage this Freight was approved for by hand;
	// an approval makes it available there without upstream verification. For a Stage
	// that requires several approvals it is set once enough of them are recorded.
	// +optional
	ApprovedFor map[string]ApprovedStage `json:"approvedFor,omitempty"`
	// Approvals record every approval, one entry per Stage and identity (approving
	// twice counts once), at most 1000. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +listType=atomic
	Approvals []FreightApproval `json:"approvals,omitempty"`
	// Metadata holds arbitrary JSON values by key, as Kargo's Freight does; Haul keeps
	// them (e.g. from imported Kargo Freight) and writes none itself.
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
// +kubebuilder:selectablefield:JSONPath=`.origin.name`
// +kubebuilder:selectablefield:JSONPath=`.alias`
type Freight struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Alias is a human-friendly name (e.g. brave-otter), unique in the project, given
	// when the Freight is minted; it may be changed (set-freight-alias, the dashboard)
	// and is mirrored in the haul.dev/alias label. A DNS label of at most 63 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Alias string `json:"alias,omitempty"`
	// Origin is the Warehouse that minted the Freight; immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="origin is immutable"
	Origin FreightOrigin `json:"origin"`
	// Images are the image versions in the Freight, one per image subscription, at most
	// 50; immutable.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="images is immutable"
	// +listType=atomic
	Images []Image `json:"images,omitempty"`
	// Commits are the Git commits in the Freight, one per git subscription, at most
	// 50; immutable.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="commits is immutable"
	// +listType=atomic
	Commits []GitCommit `json:"commits,omitempty"`
	// Charts are the Helm chart versions in the Freight, one per chart subscription, at
	// most 50; immutable.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="charts is immutable"
	// +listType=atomic
	Charts []Chart `json:"charts,omitempty"`
	// DiscoveredAt is when the Warehouse discovered the artifacts, as Kargo records it;
	// Haul's Warehouses leave it unset (the creation time says the same).
	// +optional
	DiscoveredAt *metav1.Time `json:"discoveredAt,omitempty"`

	// Status records where the Freight is, was verified and was approved.
	// +optional
	Status FreightStatus `json:"status,omitzero"`
}

// FreightList is a list of Freight.
//
// +kubebuilder:object:root=true
type FreightList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Freight.
	Items []Freight `json:"items"`
}
