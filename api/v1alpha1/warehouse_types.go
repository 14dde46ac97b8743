package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// FreightCreationPolicy says whether discovery mints Freight by itself.
// +kubebuilder:validation:Enum=Automatic;Manual
type FreightCreationPolicy string

const (
	// FreightCreationAutomatic mints Freight from every discovery that finds a new
	// combination of artifacts.
	FreightCreationAutomatic FreightCreationPolicy = "Automatic"
	// FreightCreationManual only records what discovery found; Freight is made by hand
	// (the dashboard or `haul apply`) from status.discoveredArtifacts.
	FreightCreationManual FreightCreationPolicy = "Manual"
)

// ImageSelectionStrategy orders the tags of an image repository.
// +kubebuilder:validation:Enum=SemVer;Lexical;Digest;NewestBuild
type ImageSelectionStrategy string

const (
	// ImageSelectionSemVer picks the highest tag that parses as a semantic version and
	// meets the constraint.
	ImageSelectionSemVer ImageSelectionStrategy = "SemVer"
	// ImageSelectionLexical picks the tag that sorts last, e.g. for date-stamped tags.
	ImageSelectionLexical ImageSelectionStrategy = "Lexical"
	// ImageSelectionDigest follows one mutable tag (named by constraint) and picks
	// the digest it points at now.
	ImageSelectionDigest ImageSelectionStrategy = "Digest"
	// ImageSelectionNewestBuild picks the most recently built image, by its creation
	// annotation or config date.
	ImageSelectionNewestBuild ImageSelectionStrategy = "NewestBuild"
)

// CommitSelectionStrategy orders the commits or tags of a Git repository.
// +kubebuilder:validation:Enum=NewestFromBranch;SemVer;Lexical;NewestTag
type CommitSelectionStrategy string

const (
	// CommitSelectionNewestFromBranch picks the newest commit of a branch.
	CommitSelectionNewestFromBranch CommitSelectionStrategy = "NewestFromBranch"
	// CommitSelectionSemVer picks the commit of the highest semantic-version tag.
	CommitSelectionSemVer CommitSelectionStrategy = "SemVer"
	// CommitSelectionLexical picks the commit of the tag that sorts last.
	CommitSelectionLexical CommitSelectionStrategy = "Lexical"
	// CommitSelectionNewestTag picks the commit of the most recently created tag.
	CommitSelectionNewestTag CommitSelectionStrategy = "NewestTag"
)

// FreightCreationCriteria gates automatic Freight creation.
type FreightCreationCriteria struct {
	// Expression is a boolean expression (expr-lang syntax, as Kargo's) over the newly
	// discovered artifacts, using imageFrom(repoURL), commitFrom(repoURL) and
	// chartFrom(repoURL, name); Freight is minted only when it is true. Empty always
	// mints. At most 4096 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Expression string `json:"expression,omitempty"`
}

// ImageSubscription watches one container image repository.
//
// +kubebuilder:validation:XValidation:rule="self.imageSelectionStrategy != 'Digest' || (has(self.constraint) && size(self.constraint) > 0)",message="image.constraint must name the mutable tag to follow when imageSelectionStrategy is Digest"
type ImageSubscription struct {
	// RepoURL is the image repository, without tag or digest (e.g. ghcr.io/acme/app),
	// at most 512 characters. Credentials come from a Secret labelled
	// haul.dev/cred-type=image whose repoURL matches.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]+)?(/[A-Za-z0-9._-]+)*$`
	RepoURL string `json:"repoURL"`
	// ImageSelectionStrategy orders the repository's tags: SemVer (default), Lexical,
	// Digest or NewestBuild.
	// +optional
	// +default="SemVer"
	ImageSelectionStrategy ImageSelectionStrategy `json:"imageSelectionStrategy,omitempty"`
	// Constraint is a semver range for SemVer (e.g. ^1.2.0; empty accepts any version),
	// or the mutable tag to follow for Digest (required then). Ignored by Lexical and
	// NewestBuild. At most 256 characters. Kargo's deprecated semverConstraint is read
	// into this field by `haul apply`.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Constraint string `json:"constraint,omitempty"`
	// StrictSemvers, for SemVer, counts only tags of the full MAJOR.MINOR.PATCH form
	// (an optional leading v allowed); false also accepts 1 and 1.2. Default true.
	// +optional
	// +default=true
	StrictSemvers *bool `json:"strictSemvers,omitempty"`
	// AllowTagsRegexes, when set, keeps only tags that match at least one of these Go
	// regular expressions (unanchored). At most 20, each at most 256 characters.
	// Kargo's deprecated allowTags (a single regex) maps here.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	AllowTagsRegexes []string `json:"allowTagsRegexes,omitempty"`
	// IgnoreTagsRegexes drops tags that match any of these Go regular expressions
	// (unanchored), after allowTagsRegexes. At most 20, each at most 256 characters.
	// Kargo's deprecated ignoreTags (exact tags) maps here as anchored regexes.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	IgnoreTagsRegexes []string `json:"ignoreTagsRegexes,omitempty"`
	// Platform (os/arch[/variant], e.g. linux/arm64) to resolve multi-arch images to;
	// tags without an image for it are skipped. Empty accepts every tag.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$`
	Platform string `json:"platform,omitempty"`
	// DiscoveryLimit is how many of the best tags status.discoveredArtifacts keeps,
	// 1 to 100; default 20.
	// +optional
	// +default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
	// InsecureSkipTLSVerify accepts any TLS certificate from the registry. Default false.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
	// CacheByTag lets discovery remember which digest a tag names (for 10 minutes), so
	// a quiet poll costs one tag-list request; false asks the registry for every tag's
	// digest on every poll, for registries where tags are overwritten. Default true in
	// Haul (Kargo's default is false); the Digest strategy never caches.
	// +optional
	// +default=true
	CacheByTag *bool `json:"cacheByTag,omitempty"`
}

// GitSubscription watches one Git repository.
type GitSubscription struct {
	// RepoURL is the repository to watch: an https://, http:// or ssh:// URL, or
	// scp-style user@host:path, at most 1024 characters. Local paths and file:// URLs
	// are refused. Credentials come from a Secret labelled haul.dev/cred-type=git whose
	// repoURL matches.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(https?://|ssh://|[A-Za-z0-9_][A-Za-z0-9._~-]*@[A-Za-z0-9.-]+:)\S+$`
	RepoURL string `json:"repoURL"`
	// CommitSelectionStrategy picks commits: NewestFromBranch (default), or by tag with
	// SemVer, Lexical or NewestTag.
	// +optional
	// +default="NewestFromBranch"
	CommitSelectionStrategy CommitSelectionStrategy `json:"commitSelectionStrategy,omitempty"`
	// Branch for NewestFromBranch; empty means the remote's default branch. At most
	// 255 characters. Ignored by the tag strategies.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Branch string `json:"branch,omitempty"`
	// SemverConstraint, for SemVer, is the range a tag's version must be in (e.g.
	// >=1.4, <2); empty accepts any version. At most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	SemverConstraint string `json:"semverConstraint,omitempty"`
	// StrictSemvers, for SemVer, counts only tags of the full MAJOR.MINOR.PATCH form
	// (an optional leading v allowed). Default true.
	// +optional
	// +default=true
	StrictSemvers *bool `json:"strictSemvers,omitempty"`
	// AllowTagsRegexes, for the tag strategies, keeps only tags that match at least
	// one of these Go regular expressions (unanchored). At most 20, each at most 256
	// characters. Kargo's deprecated allowTags maps here.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	AllowTagsRegexes []string `json:"allowTagsRegexes,omitempty"`
	// IgnoreTagsRegexes, for the tag strategies, drops tags that match any of these Go
	// regular expressions (unanchored). At most 20, each at most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	IgnoreTagsRegexes []string `json:"ignoreTagsRegexes,omitempty"`
	// IncludePaths: a commit counts only if it touches a path matched by one of these,
	// as in Kargo: a base directory (`src` covers `src/a.go`, not `src2/a.go`),
	// `glob:PATTERN` (doublestar: `**` crosses directories) or `regex:PATTERN` /
	// `regexp:PATTERN`. Empty counts every commit. At most 50, each at most 512
	// characters.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	// +listType=atomic
	IncludePaths []string `json:"includePaths,omitempty"`
	// ExcludePaths: a commit that touches only paths matched by these (same forms as
	// includePaths) does not count. At most 50, each at most 512 characters.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	// +listType=atomic
	ExcludePaths []string `json:"excludePaths,omitempty"`
	// ExpressionFilter is a boolean expression over a commit (id, commitDate, author,
	// committer, subject) or a tag (tag, id, creatorDate, tagger, annotation); only
	// those for which it is true count. At most 4096 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	ExpressionFilter string `json:"expressionFilter,omitempty"`
	// DiscoveryLimit is how many of the best commits status.discoveredArtifacts keeps,
	// 1 to 100; default 20.
	// +optional
	// +default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
	// InsecureSkipTLSVerify accepts any TLS certificate from the Git server. Default
	// false.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
	// Blobless fetches commits and trees but no file contents (git's
	// --filter=blob:none) into discovery's cache: less to transfer for large
	// repositories. The server must support partial clone. Default false.
	// +optional
	Blobless *bool `json:"blobless,omitempty"`
	// Since limits discovery to commits (and tags) committed at or after this time
	// (RFC 3339); older ones are never Freight. Unset: no limit.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// ChartSubscription watches one Helm chart, in a classic repository or an OCI registry.
//
// +kubebuilder:validation:XValidation:rule="self.repoURL.startsWith('oci://') ? (!has(self.name) || size(self.name) == 0) : (has(self.name) && size(self.name) > 0)",message="chart.name is required for an http(s) repository and must be empty for an oci:// chart"
type ChartSubscription struct {
	// RepoURL is a classic Helm repository (http:// or https://, the URL that serves
	// index.yaml) or an OCI chart (oci://registry/path/chart), at most 1024 characters.
	// Credentials come from a Secret labelled haul.dev/cred-type=helm whose repoURL
	// matches.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(https?|oci)://\S+$`
	RepoURL string `json:"repoURL"`
	// Name is the chart's name in an http(s) repository's index (required there); it
	// must be empty for oci://, where the URL names the chart. At most 253 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// SemverConstraint is the range a chart version must be in (e.g. ^2.0.0); empty
	// accepts any version. At most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	SemverConstraint string `json:"semverConstraint,omitempty"`
	// DiscoveryLimit is how many of the highest versions status.discoveredArtifacts
	// keeps, 1 to 100; default 20.
	// +optional
	// +default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	DiscoveryLimit int32 `json:"discoveryLimit,omitempty"`
	// InsecureSkipTLSVerify accepts any TLS certificate from the chart repository.
	// Default false.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// RepoSubscription is one source of artifacts; exactly one of image, git or chart is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.image), has(self.git), has(self.chart)].filter(x, x).size() == 1",message="subscriptions[]: exactly one of image, git or chart must be set"
type RepoSubscription struct {
	// Name distinguishes two subscriptions to the same repository; it becomes part of
	// the Freight ID and is copied into the Freight's artifacts as subscriptionName. A
	// DNS label of at most 63 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
	// Image subscribes to a container image repository.
	// +optional
	Image *ImageSubscription `json:"image,omitempty"`
	// Git subscribes to a Git repository's commits or tags.
	// +optional
	Git *GitSubscription `json:"git,omitempty"`
	// Chart subscribes to a Helm chart.
	// +optional
	Chart *ChartSubscription `json:"chart,omitempty"`
}

// WarehouseSpec says what to watch and how often.
type WarehouseSpec struct {
	// Interval between discoveries, a Go duration such as 5m or 1h30m; default 5m. The
	// controller applies a floor (haul up --min-warehouse-interval); a webhook receiver
	// or the haul.dev/refresh annotation starts a discovery at once.
	// +optional
	// +default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Interval metav1.Duration `json:"interval,omitzero"` //nolint:kubeapilinter // omitzero is omitempty for a struct
	// FreightCreationPolicy is Automatic (default: mint Freight from each new
	// discovery) or Manual (only record what was found).
	// +optional
	// +default="Automatic"
	FreightCreationPolicy FreightCreationPolicy `json:"freightCreationPolicy,omitempty"`
	// FreightCreationCriteria, with the Automatic policy, mints Freight only when its
	// expression holds for the newly discovered artifacts.
	// +optional
	FreightCreationCriteria *FreightCreationCriteria `json:"freightCreationCriteria,omitempty"`
	// Subscriptions are the repositories to watch, 1 to 20; each Freight holds the best
	// artifact of every subscription.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Subscriptions []RepoSubscription `json:"subscriptions"`
}

// DiscoveredImageReference is one tag found in a registry.
type DiscoveredImageReference struct {
	// Tag is the image tag (for Digest, the followed tag itself).
	// +required
	// +kubebuilder:validation:MaxLength=256
	Tag string `json:"tag"`
	// Digest is the manifest digest the tag pointed at when discovered, e.g.
	// sha256:....
	// +required
	// +kubebuilder:validation:MaxLength=256
	Digest string `json:"digest"`
	// CreatedAt is the image's build time, from its OCI created annotation or config;
	// empty when the registry did not say.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// Annotations are the image manifest's OCI annotations (e.g.
	// org.opencontainers.image.source), capped at 8 KiB in all.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// DiscoveredImages lists the best tags of one image subscription.
type DiscoveredImages struct {
	// SubscriptionName is the subscription's name, if it has one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
	// RepoURL is the subscription's image repository.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// Platform is the subscription's platform the digests were resolved for, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Platform string `json:"platform,omitempty"`
	// References are the best tags, best first, at most the subscription's
	// discoveryLimit.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	References []DiscoveredImageReference `json:"references,omitempty"` //nolint:kubeapilinter // Kargo's field name (DiscoveredImages.references)
}

// DiscoveredCommit is one commit (or tag) found in a Git repository.
type DiscoveredCommit struct {
	// ID is the commit's full hash.
	// +required
	// +kubebuilder:validation:MaxLength=256
	ID string `json:"id"`
	// Tag is the tag that selected the commit, for the tag strategies.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Tag string `json:"tag,omitempty"`
	// Branch is the branch the commit is the newest of, for NewestFromBranch.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Branch string `json:"branch,omitempty"`
	// Subject is the first line of the commit message (or the tag's annotation),
	// cut to 256 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Subject string `json:"subject,omitempty"`
	// Author is the commit's author (or the tagger), as "name <email>".
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Author string `json:"author,omitempty"`
	// CommitterDate is when the commit was committed (or the tag created). Kargo calls
	// it creatorDate.
	// +optional
	CommitterDate *metav1.Time `json:"committerDate,omitempty"`
}

// DiscoveredCommits lists the best commits of one git subscription.
type DiscoveredCommits struct {
	// SubscriptionName is the subscription's name, if it has one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
	// RepoURL is the subscription's repository.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// Commits are the best commits, best first, at most the subscription's
	// discoveryLimit.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Commits []DiscoveredCommit `json:"commits,omitempty"`
}

// DiscoveredCharts lists the best versions of one chart subscription.
type DiscoveredCharts struct {
	// SubscriptionName is the subscription's name, if it has one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	SubscriptionName string `json:"subscriptionName,omitempty"`
	// RepoURL is the subscription's chart repository or OCI chart.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// Name is the chart's name, for an http(s) repository.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// Versions are the highest versions meeting the constraint, highest first, at most
	// the subscription's discoveryLimit.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	Versions []string `json:"versions,omitempty"`
}

// DiscoveredArtifacts is what the last successful discovery found, best first.
type DiscoveredArtifacts struct {
	// DiscoveredAt is when that discovery finished.
	// +optional
	DiscoveredAt *metav1.Time `json:"discoveredAt,omitempty"`
	// Images holds one entry per image subscription, in spec order.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Images []DiscoveredImages `json:"images,omitempty"`
	// Git holds one entry per git subscription, in spec order.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Git []DiscoveredCommits `json:"git,omitempty"`
	// Charts holds one entry per chart subscription, in spec order.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Charts []DiscoveredCharts `json:"charts,omitempty"`
}

// WarehouseStatus is what discovery observed.
type WarehouseStatus struct {
	// ObservedGeneration is the metadata.generation the last successful discovery ran
	// for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions hold the latest observations: Ready (the last discovery succeeded and
	// Freight is up to date), Healthy (every subscription answered), Reconciling (a
	// discovery is under way or waits on a registry's rate limit) and Stalled (the spec
	// cannot be acted on, e.g. InvalidConstraint, until someone changes it).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// DiscoveredArtifacts is what the last successful discovery found; kept through
	// later failures.
	// +optional
	DiscoveredArtifacts *DiscoveredArtifacts `json:"discoveredArtifacts,omitempty"`
	// LastFreightID is the name of the newest Freight this Warehouse minted.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LastFreightID string `json:"lastFreightID,omitempty"`
	// LastHandledRefresh is the value of the haul.dev/refresh annotation last acted upon;
	// bounded only by the API server's 256 KiB limit on annotations.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
	LastHandledRefresh string `json:"lastHandledRefresh,omitempty"`
}

// Warehouse subscribes to image, Git and chart repositories and mints Freight from what it finds.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=wh
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Last Freight",type=string,JSONPath=`.status.lastFreightID`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Shard",type=string,JSONPath=`.metadata.labels.haul\.dev/shard`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Warehouse struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which repositories to watch and how often.
	// +required
	Spec WarehouseSpec `json:"spec"`
	// Status is written by the Warehouse controller.
	// +optional
	Status WarehouseStatus `json:"status,omitzero"`
}

// WarehouseList is a list of Warehouses.
//
// +kubebuilder:object:root=true
type WarehouseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Warehouses.
	Items []Warehouse `json:"items"`
}
