package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AvailabilityStrategy says how many upstream Stages must have verified Freight.
// +kubebuilder:validation:Enum=OneOf;All
type AvailabilityStrategy string

const (
	AvailabilityOneOf AvailabilityStrategy = "OneOf"
	AvailabilityAll   AvailabilityStrategy = "All"
)

// AutoPromotionSelectionPolicy picks the auto-promotion candidate.
// +kubebuilder:validation:Enum=NewestFreight;MatchUpstream
type AutoPromotionSelectionPolicy string

const (
	SelectNewestFreight AutoPromotionSelectionPolicy = "NewestFreight"
	SelectMatchUpstream AutoPromotionSelectionPolicy = "MatchUpstream"
)

// FreightSources says where a Stage may take Freight from.
type FreightSources struct {
	// Direct accepts Freight straight from the origin.
	// +optional
	Direct bool `json:"direct,omitempty"`
	// Stages are upstream Stages whose verified Freight becomes available here.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Stages []string `json:"stages,omitempty"`
	// +optional
	// +kubebuilder:default=OneOf
	AvailabilityStrategy AvailabilityStrategy `json:"availabilityStrategy,omitempty"`
	// RequiredSoakTime is how long Freight must have been in an upstream Stage.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	RequiredSoakTime *metav1.Duration `json:"requiredSoakTime,omitempty"`
}

// AutoPromotionOptions tune auto-promotion for one origin.
type AutoPromotionOptions struct {
	// +optional
	// +kubebuilder:default=NewestFreight
	SelectionPolicy AutoPromotionSelectionPolicy `json:"selectionPolicy,omitempty"`
}

// FreightRequest asks for Freight of one origin from some sources.
//
// +kubebuilder:validation:XValidation:rule="has(self.sources.direct) && self.sources.direct || has(self.sources.stages) && size(self.sources.stages) > 0",message="requestedFreight[].sources: set direct or at least one upstream stage"
// +kubebuilder:validation:XValidation:rule="!has(self.autoPromotionOptions) || !has(self.autoPromotionOptions.selectionPolicy) || self.autoPromotionOptions.selectionPolicy != 'MatchUpstream' || ((!has(self.sources.direct) || !self.sources.direct) && has(self.sources.stages) && size(self.sources.stages) == 1)",message="requestedFreight[].autoPromotionOptions.selectionPolicy: MatchUpstream needs exactly one upstream stage and no direct source"
type FreightRequest struct {
	// +required
	Origin FreightOrigin `json:"origin"`
	// +required
	Sources FreightSources `json:"sources"`
	// +optional
	AutoPromotionOptions *AutoPromotionOptions `json:"autoPromotionOptions,omitempty"`
}

// PromotionTemplateSpec is what a Promotion of this Stage runs.
type PromotionTemplateSpec struct {
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Vars []Var `json:"vars,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Steps []PromotionStep `json:"steps"`
}

// PromotionTemplate wraps the spec, as Kargo does.
type PromotionTemplate struct {
	// +required
	Spec PromotionTemplateSpec `json:"spec"`
}

// KustomizeImageUpdate is a legacy shorthand: set image in the kustomization at path.
type KustomizeImageUpdate struct {
	// +required
	Image string `json:"image"`
	// +required
	Path string `json:"path"`
}

// KustomizePromotionMechanism is the kustomize part of a legacy gitRepoUpdate.
type KustomizePromotionMechanism struct {
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	Images []KustomizeImageUpdate `json:"images"`
}

// HelmImageUpdate is a legacy shorthand: write an image reference into a values file.
type HelmImageUpdate struct {
	// +required
	Image string `json:"image"`
	// +required
	ValuesFilePath string `json:"valuesFilePath"`
	// +required
	Key string `json:"key"`
	// Value is what to write: Image (repo:tag, the default), Tag, Digest or ImageAndDigest.
	// +optional
	// +kubebuilder:validation:Enum=Image;Tag;Digest;ImageAndDigest
	Value string `json:"value,omitempty"`
}

// HelmPromotionMechanism is the helm part of a legacy gitRepoUpdate.
type HelmPromotionMechanism struct {
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Images []HelmImageUpdate `json:"images,omitempty"`
}

// GitRepoUpdate is a legacy shorthand for clone, edit, commit and push.
type GitRepoUpdate struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	RepoURL string `json:"repoURL"`
	// +optional
	ReadBranch string `json:"readBranch,omitempty"`
	// +required
	// +kubebuilder:validation:MinLength=1
	WriteBranch string `json:"writeBranch"`
	// +optional
	Kustomize *KustomizePromotionMechanism `json:"kustomize,omitempty"`
	// +optional
	Helm *HelmPromotionMechanism `json:"helm,omitempty"`
}

// ArgoCDAppUpdate is a legacy shorthand for argocd-update of one Application.
type ArgoCDAppUpdate struct {
	// +required
	AppName string `json:"appName"`
	// +optional
	// +kubebuilder:default=argocd
	AppNamespace string `json:"appNamespace,omitempty"`
}

// PromotionMechanisms is Kargo's older way to describe a promotion; Haul expands it into steps.
type PromotionMechanisms struct {
	// +optional
	// +kubebuilder:validation:MaxItems=20
	GitRepoUpdates []GitRepoUpdate `json:"gitRepoUpdates,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	ArgoCDAppUpdates []ArgoCDAppUpdate `json:"argoCDAppUpdates,omitempty"`
}

// AnalysisTemplateReference names an Argo Rollouts AnalysisTemplate in the project namespace.
type AnalysisTemplateReference struct {
	// +required
	Name string `json:"name"`
}

// Verification is run after a promotion once the Stage is healthy.
type Verification struct {
	// Steps run through the promotion step engine (e.g. http, job).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Steps []PromotionStep `json:"steps,omitempty"`
	// AnalysisTemplates are used when Argo Rollouts is installed.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	AnalysisTemplates []AnalysisTemplateReference `json:"analysisTemplates,omitempty"`
}

// StageSpec describes one node of the pipeline.
type StageSpec struct {
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Vars []Var `json:"vars,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.exists_one(b, b.origin.kind == a.origin.kind && b.origin.name == a.origin.name))",message="requestedFreight: an origin may be requested at most once"
	RequestedFreight []FreightRequest `json:"requestedFreight"`
	// +optional
	PromotionTemplate *PromotionTemplate `json:"promotionTemplate,omitempty"`
	// +optional
	PromotionMechanisms *PromotionMechanisms `json:"promotionMechanisms,omitempty"`
	// +optional
	Verification *Verification `json:"verification,omitempty"`
}

// HealthState is the health of a Stage.
// +kubebuilder:validation:Enum=Healthy;Progressing;Unhealthy;Unknown;NotApplicable
type HealthState string

const (
	HealthHealthy       HealthState = "Healthy"
	HealthProgressing   HealthState = "Progressing"
	HealthUnhealthy     HealthState = "Unhealthy"
	HealthUnknown       HealthState = "Unknown"
	HealthNotApplicable HealthState = "NotApplicable"
)

// Health summarises the Stage's health checks.
type Health struct {
	// +optional
	Status HealthState `json:"status,omitempty"`
	// +optional
	Issues []string `json:"issues,omitempty"`
	// +optional
	CheckedAt *metav1.Time `json:"checkedAt,omitempty"`
}

// FreightReference is a copy of the parts of a Freight a Stage needs to show.
type FreightReference struct {
	Name string `json:"name"`
	// +optional
	Alias string `json:"alias,omitempty"`
	// +optional
	Origin FreightOrigin `json:"origin,omitzero"`
	// +optional
	Images []Image `json:"images,omitempty"`
	// +optional
	Commits []GitCommit `json:"commits,omitempty"`
	// +optional
	Charts []Chart `json:"charts,omitempty"`
}

// VerificationPhase is the state of one verification run.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Errored;Aborted
type VerificationPhase string

// VerificationResult records one verification run of the Stage's Freight.
type VerificationResult struct {
	ID    string            `json:"id"`
	Phase VerificationPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	Steps []StepExecutionMetadata `json:"steps,omitempty"`
	// +optional
	AnalysisRun string `json:"analysisRun,omitempty"`
	// Outputs are the verification steps' outputs by alias, kept so a run resumes
	// where it stopped (e.g. how many of an http step's repeated checks passed).
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Outputs *apiextensionsv1.JSON `json:"outputs,omitempty"`
}

// FreightCollection is the set of Freight (one per origin) in a Stage at one time.
type FreightCollection struct {
	// ID identifies the collection: the sorted Freight names joined.
	ID string `json:"id"`
	// Items maps origin (Kind/name) to the Freight from it.
	// +optional
	Items map[string]FreightReference `json:"items,omitempty"`
	// +optional
	PromotedAt *metav1.Time `json:"promotedAt,omitempty"`
	// +optional
	Promotion string `json:"promotion,omitempty"`
	// +optional
	VerificationHistory []VerificationResult `json:"verificationHistory,omitempty"`
}

// PromotionReference points at a Promotion from a Stage.
type PromotionReference struct {
	Name string `json:"name"`
	// +optional
	Freight string `json:"freight,omitempty"`
	// +optional
	FreightAlias string `json:"freightAlias,omitempty"`
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
}

// AutoPromotionHold stops auto-promotion of one origin after a manual promotion of
// Freight other than the candidate. Promoting the candidate again releases it.
type AutoPromotionHold struct {
	Origin FreightOrigin `json:"origin"`
	// Freight is what was promoted by hand.
	Freight string `json:"freight"`
	// +optional
	FreightAlias string `json:"freightAlias,omitempty"`
	// +optional
	Promotion string `json:"promotion,omitempty"`
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// StageStatus is what the Stage controller observed.
type StageStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// FreightHistory is newest first, at most ten entries; the first is current.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	FreightHistory []FreightCollection `json:"freightHistory,omitempty"`
	// +optional
	Health *Health `json:"health,omitempty"`
	// CurrentPromotion is the running Promotion; it is the Stage's promotion lock.
	// +optional
	CurrentPromotion *PromotionReference `json:"currentPromotion,omitempty"`
	// +optional
	LastPromotion *PromotionReference `json:"lastPromotion,omitempty"`
	// +optional
	AutoPromotionEnabled bool `json:"autoPromotionEnabled,omitempty"`
	// +optional
	AutoPromotionHolds []AutoPromotionHold `json:"autoPromotionHolds,omitempty"`
	// FreightSummary is the current Freight's alias (or a count when there are several origins).
	// +optional
	FreightSummary string `json:"freightSummary,omitempty"`
	// +optional
	LastHandledRefresh string `json:"lastHandledRefresh,omitempty"`
	// +optional
	LastHandledReverify string `json:"lastHandledReverify,omitempty"`
	// +optional
	LastHandledAbort string `json:"lastHandledAbort,omitempty"`
}

// Stage is one node of a promotion pipeline.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=stg
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Freight",type=string,JSONPath=`.status.freightSummary`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Last Promotion",type=string,JSONPath=`.status.lastPromotion.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Stage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec StageSpec `json:"spec"`
	// +optional
	Status StageStatus `json:"status,omitzero"`
}

// StageList is a list of Stages.
//
// +kubebuilder:object:root=true
type StageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Stage `json:"items"`
}
