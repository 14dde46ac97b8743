package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// FreightCreationPolicy says whether discovery mints Freight by itself.
// +kubebuilder:validation:Enum=Automatic;Manual
type FreightCreationPolicy string

const (
	FreightCreationAutomatic FreightCreationPolicy = "Automatic"
	FreightCreationManual    FreightCreationPolicy = "Manual"
)

// ImageSelectionStrategy orders the tags of an image repository.
// +kubebuilder:validation:Enum=SemVer;Lexical;Digest;NewestBuild
type ImageSelectionStrategy string

const (
	ImageSelectionSemVer      ImageSelectionStrategy = "SemVer"
	ImageSelectionLexical     ImageSelectionStrategy = "Lexical"
	ImageSelectionDigest      ImageSelectionStrategy = "Digest"
	ImageSelectionNewestBuild ImageSelectionStrategy = "NewestBuild"
)

// CommitSelectionStrategy orders the commits or tags of a Git repository.
// +kubebuilder:validation:Enum=NewestFromBranch;SemVer;Lexical;NewestTag
type CommitSelectionStrategy string

const (
	CommitSelectionNewestFromBranch CommitSelectionStrategy = "NewestFromBranch"
	CommitSelectionSemVer           CommitSelectionStrategy = "SemVer"
	CommitSelectionLexical          CommitSelectionStrategy = "Lexical"
	CommitSelectionNewestTag        CommitSelectionStrategy = "NewestTag"
)

// FreightCreationCriteria gates automatic Freight creation.
type FreightCreationCriteria struct {
	// Expression is a boolean expression over the newly discovered artifacts, using
	// imageFrom(repoURL), commitFrom(repoURL) and chartFrom(repoURL, name).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Expression string `json:"expression,omitempty"`
}

// ImageSubscription watches one container image repository.
//
// +kubebuilder:validation:XValidation:rule="self.imageSelectionStrategy != 'Digest' || (has(self.constraint) && size(self.constraint) > 0)",message="image.constraint must name the mutable tag to follow when imageSelectionStrategy is Digest"
type ImageSubscription struct {
	// RepoURL is the image repository, without tag or digest (e.g. ghcr.io/acme/app).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]+)?(/[A-Za-z0-9._-]+)*$`
	RepoURL string `json:"repoURL"`
	// +optional
	// +kubebuilder:default=SemVer
	ImageSelectionStrategy ImageSelectionStrategy `json:"imageSelectionStrategy,omitempty"`
	// Constraint is a semver range for SemVer, or the mutable tag to follow for Digest.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Constraint string `json:"constraint,omitempty"`
	// StrictSemvers requires MAJOR.MINOR.PATCH tags.
	// +optional
	// +kubebuilder:default=true
	StrictSemvers *bool `json:"strictSemvers,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	AllowTagsRegexes []string `json:"allowTagsRegexes,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	IgnoreTagsRegexes []string `json:"ignoreTagsRegexes,omitempty"`
	// Platform (os/arch[/variant]) to resolve multi-arch images to; tags without it are skipped.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$`
	Platform string `json:"platform,omitempty"`
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// GitSubscription watches one Git repository.
type GitSubscription struct {
	// RepoURL is the repository to watch: an https://, http:// or ssh:// URL, or
	// scp-style user@host:path. Local paths and file:// URLs are refused.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(https?://|ssh://|[A-Za-z0-9_][A-Za-z0-9._~-]*@[A-Za-z0-9.-]+:)\S+$`
	RepoURL string `json:"repoURL"`
	// +optional
	// +kubebuilder:default=NewestFromBranch
	CommitSelectionStrategy CommitSelectionStrategy `json:"commitSelectionStrategy,omitempty"`
	// Branch for NewestFromBranch; empty means the remote's default branch.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Branch string `json:"branch,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	SemverConstraint string `json:"semverConstraint,omitempty"`
	// +optional
	// +kubebuilder:default=true
	StrictSemvers *bool `json:"strictSemvers,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	AllowTagsRegexes []string `json:"allowTagsRegexes,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	IgnoreTagsRegexes []string `json:"ignoreTagsRegexes,omitempty"`
	// IncludePaths: a commit counts only if it touches one of these (prefix, glob:, regex:).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	IncludePaths []string `json:"includePaths,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	ExcludePaths []string `json:"excludePaths,omitempty"`
	// ExpressionFilter is a boolean expression over a commit (id, commitDate, author,
	// committer, subject) or a tag (tag, id, creatorDate, tagger, annotation).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	ExpressionFilter string `json:"expressionFilter,omitempty"`
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// ChartSubscription watches one Helm chart, in a classic repository or an OCI registry.
//
// +kubebuilder:validation:XValidation:rule="self.repoURL.startsWith('oci://') ? (!has(self.name) || size(self.name) == 0) : (has(self.name) && size(self.name) > 0)",message="chart.name is required for an http(s) repository and must be empty for an oci:// chart"
type ChartSubscription struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(https?|oci)://\S+$`
	RepoURL string `json:"repoURL"`
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	SemverConstraint string `json:"semverConstraint,omitempty"`
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
}

// RepoSubscription is one source of artifacts; exactly one of image, git or chart is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.image), has(self.git), has(self.chart)].filter(x, x).size() == 1",message="subscriptions[]: exactly one of image, git or chart must be set"
type RepoSubscription struct {
	// Name distinguishes two subscriptions to the same repository; it becomes part of the Freight ID.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
	// +optional
	Image *ImageSubscription `json:"image,omitempty"`
	// +optional
	Git *GitSubscription `json:"git,omitempty"`
	// +optional
	Chart *ChartSubscription `json:"chart,omitempty"`
}

// WarehouseSpec says what to watch and how often.
type WarehouseSpec struct {
	// Interval between discoveries; the controller enforces a configurable floor.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Interval metav1.Duration `json:"interval,omitzero"`
	// +optional
	// +kubebuilder:default=Automatic
	FreightCreationPolicy FreightCreationPolicy `json:"freightCreationPolicy,omitempty"`
	// +optional
	FreightCreationCriteria *FreightCreationCriteria `json:"freightCreationCriteria,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Subscriptions []RepoSubscription `json:"subscriptions"`
}

// DiscoveredImageReference is one tag found in a registry.
type DiscoveredImageReference struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// DiscoveredImages lists the best tags of one image subscription.
type DiscoveredImages struct {
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
	RepoURL          string `json:"repoURL"`
	// +optional
	Platform string `json:"platform,omitempty"`
	// +optional
	References []DiscoveredImageReference `json:"references,omitempty"`
}

// DiscoveredCommit is one commit (or tag) found in a Git repository.
type DiscoveredCommit struct {
	ID string `json:"id"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// +optional
	Branch string `json:"branch,omitempty"`
	// +optional
	Subject string `json:"subject,omitempty"`
	// +optional
	Author string `json:"author,omitempty"`
	// +optional
	CommitterDate *metav1.Time `json:"committerDate,omitempty"`
}

// DiscoveredCommits lists the best commits of one git subscription.
type DiscoveredCommits struct {
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
	RepoURL          string `json:"repoURL"`
	// +optional
	Commits []DiscoveredCommit `json:"commits,omitempty"`
}

// DiscoveredCharts lists the best versions of one chart subscription.
type DiscoveredCharts struct {
	// +optional
	SubscriptionName string `json:"subscriptionName,omitempty"`
	RepoURL          string `json:"repoURL"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Versions []string `json:"versions,omitempty"`
}

// DiscoveredArtifacts is what the last successful discovery found, best first.
type DiscoveredArtifacts struct {
	// +optional
	DiscoveredAt *metav1.Time `json:"discoveredAt,omitempty"`
	// +optional
	Images []DiscoveredImages `json:"images,omitempty"`
	// +optional
	Git []DiscoveredCommits `json:"git,omitempty"`
	// +optional
	Charts []DiscoveredCharts `json:"charts,omitempty"`
}

// WarehouseStatus is what discovery observed.
type WarehouseStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	DiscoveredArtifacts *DiscoveredArtifacts `json:"discoveredArtifacts,omitempty"`
	// +optional
	LastFreightID string `json:"lastFreightID,omitempty"`
	// LastHandledRefresh is the value of the haul.dev/refresh annotation last acted upon.
	// +optional
	LastHandledRefresh string `json:"lastHandledRefresh,omitempty"`
}

// Warehouse subscribes to image, Git and chart repositories and mints Freight from what it finds.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=wh
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Last Freight",type=string,JSONPath=`.status.lastFreightID`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Warehouse struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec WarehouseSpec `json:"spec"`
	// +optional
	Status WarehouseStatus `json:"status,omitzero"`
}

// WarehouseList is a list of Warehouses.
//
// +kubebuilder:object:root=true
type WarehouseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Warehouse `json:"items"`
}
