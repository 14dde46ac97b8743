package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AvailabilityStrategy says how many upstream Stages must have verified Freight.
// +kubebuilder:validation:Enum=OneOf;All
type AvailabilityStrategy string

const (
	// AvailabilityOneOf makes Freight available once any one upstream Stage verified it.
	AvailabilityOneOf AvailabilityStrategy = "OneOf"
	// AvailabilityAll makes Freight available only once every upstream Stage verified it.
	AvailabilityAll AvailabilityStrategy = "All"
)

// AutoPromotionSelectionPolicy picks the auto-promotion candidate.
// +kubebuilder:validation:Enum=NewestFreight;MatchUpstream
type AutoPromotionSelectionPolicy string

const (
	// SelectNewestFreight auto-promotes the newest available Freight.
	SelectNewestFreight AutoPromotionSelectionPolicy = "NewestFreight"
	// SelectMatchUpstream auto-promotes whatever Freight the single upstream Stage
	// holds now, so the Stage follows it, rollbacks included.
	SelectMatchUpstream AutoPromotionSelectionPolicy = "MatchUpstream"
)

// FreightSources says where a Stage may take Freight from.
type FreightSources struct {
	// Direct accepts Freight straight from the origin Warehouse, as soon as it is
	// minted. Default false.
	// +optional
	Direct bool `json:"direct,omitempty"`
	// Stages are upstream Stages whose verified Freight becomes available here; at most
	// 20 distinct names.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Stages []string `json:"stages,omitempty"`
	// AvailabilityStrategy, with several upstream stages, says whether one of them
	// (OneOf, the default) or All must have verified the Freight.
	// +optional
	// +default="OneOf"
	AvailabilityStrategy AvailabilityStrategy `json:"availabilityStrategy,omitempty"`
	// RequiredSoakTime is how long verified Freight must have stayed in an upstream
	// Stage (its longest stay, or the current one) before it is available here; a Go
	// duration such as 1h. Empty means no wait. A manual approval skips it.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	RequiredSoakTime *metav1.Duration `json:"requiredSoakTime,omitempty"`
	// AutoPromotionOptions tune which Freight auto-promotion picks, when the project's
	// policy enables it for this Stage (here, inside sources, as in Kargo).
	// +optional
	AutoPromotionOptions *AutoPromotionOptions `json:"autoPromotionOptions,omitempty"`
}

// AutoPromotionOptions tune auto-promotion for one origin.
type AutoPromotionOptions struct {
	// SelectionPolicy is NewestFreight (default) or MatchUpstream (needs exactly one
	// upstream stage and no direct source).
	// +optional
	// +default="NewestFreight"
	SelectionPolicy AutoPromotionSelectionPolicy `json:"selectionPolicy,omitempty"`
}

// FreightRequest asks for Freight of one origin from some sources.
//
// +kubebuilder:validation:XValidation:rule="has(self.sources.direct) && self.sources.direct || has(self.sources.stages) && size(self.sources.stages) > 0",message="requestedFreight[].sources: set direct or at least one upstream stage"
// +kubebuilder:validation:XValidation:rule="!has(self.sources.autoPromotionOptions) || !has(self.sources.autoPromotionOptions.selectionPolicy) || self.sources.autoPromotionOptions.selectionPolicy != 'MatchUpstream' || ((!has(self.sources.direct) || !self.sources.direct) && has(self.sources.stages) && size(self.sources.stages) == 1)",message="requestedFreight[].sources.autoPromotionOptions.selectionPolicy: MatchUpstream needs exactly one upstream stage and no direct source"
type FreightRequest struct {
	// Origin is the Warehouse whose Freight is requested.
	// +required
	Origin FreightOrigin `json:"origin"`
	// Sources says where that Freight may come from: direct, and/or upstream Stages.
	// +required
	Sources FreightSources `json:"sources"` //nolint:kubeapilinter // required as in Kargo, though each of its fields is optional
}

// PromotionTemplateSpec is what a Promotion of this Stage runs.
type PromotionTemplateSpec struct {
	// Vars are defaults for vars.<name> in the steps; they override spec.vars and are
	// overridden by the Promotion's own. At most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
	// Steps run in order, 1 to 100; a task step expands into its task's steps.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Steps []PromotionStep `json:"steps"`
}

// PromotionTemplate wraps the spec, as Kargo does.
type PromotionTemplate struct {
	// Spec holds the vars and steps.
	// +required
	Spec PromotionTemplateSpec `json:"spec"`
}

// KustomizeImageUpdate is a legacy shorthand: set image in the kustomization at path.
type KustomizeImageUpdate struct {
	// Image is the image repository whose Freight version is set (kustomize-set-image).
	// +required
	// +kubebuilder:validation:MaxLength=2048
	Image string `json:"image"`
	// Path is the directory of the kustomization.yaml, relative to the repository root.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	Path string `json:"path"`
}

// KustomizePromotionMechanism is the kustomize part of a legacy gitRepoUpdate.
type KustomizePromotionMechanism struct {
	// Images are the images to set, 1 to 50.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Images []KustomizeImageUpdate `json:"images"`
}

// HelmImageUpdate is a legacy shorthand: write an image reference into a values file.
type HelmImageUpdate struct {
	// Image is the image repository whose Freight version is written.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	Image string `json:"image"`
	// ValuesFilePath is the values file, relative to the repository root.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	ValuesFilePath string `json:"valuesFilePath"`
	// Key is the dotted path in the values file to write (e.g. image.tag).
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key"`
	// Value is what to write: Image (repo:tag, the default), Tag, Digest or ImageAndDigest.
	// +optional
	// +kubebuilder:validation:Enum=Image;Tag;Digest;ImageAndDigest
	Value string `json:"value,omitempty"`
}

// HelmPromotionMechanism is the helm part of a legacy gitRepoUpdate.
type HelmPromotionMechanism struct {
	// Images are the values to write, at most 50 (yaml-update, one per file).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Images []HelmImageUpdate `json:"images,omitempty"`
}

// GitRepoUpdate is a legacy shorthand for clone, edit, commit and push.
type GitRepoUpdate struct {
	// RepoURL is the repository to clone and push to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`
	// ReadBranch is the branch to read from; empty means the remote's default branch.
	// When it differs from writeBranch, writeBranch is replaced by its content first.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	ReadBranch string `json:"readBranch,omitempty"`
	// WriteBranch is the branch the change is committed and pushed to, created if
	// missing.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	WriteBranch string `json:"writeBranch"`
	// Kustomize sets images in kustomizations.
	// +optional
	Kustomize *KustomizePromotionMechanism `json:"kustomize,omitempty"`
	// Helm writes image references into values files.
	// +optional
	Helm *HelmPromotionMechanism `json:"helm,omitempty"`
}

// ArgoCDAppUpdate is a legacy shorthand for argocd-update of one Application.
type ArgoCDAppUpdate struct {
	// AppName is the Argo CD Application to sync; it must carry the
	// haul.dev/authorized-stage annotation naming this Stage.
	// +required
	// +kubebuilder:validation:MaxLength=253
	AppName string `json:"appName"`
	// AppNamespace is the Application's namespace; default argocd.
	// +optional
	// +default="argocd"
	// +kubebuilder:validation:MaxLength=63
	AppNamespace string `json:"appNamespace,omitempty"`
}

// PromotionMechanisms is Kargo's older way to describe a promotion (removed from Kargo
// in v1.0); Haul expands it into steps: git-clone, kustomize-set-image or yaml-update,
// git-commit, git-push, then argocd-update.
type PromotionMechanisms struct {
	// GitRepoUpdates each clone a repository, edit it and push, at most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	GitRepoUpdates []GitRepoUpdate `json:"gitRepoUpdates,omitempty"`
	// ArgoCDAppUpdates each sync an Argo CD Application after the pushes, at most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	ArgoCDAppUpdates []ArgoCDAppUpdate `json:"argoCDAppUpdates,omitempty"`
}

// AnalysisTemplateReference names an Argo Rollouts AnalysisTemplate in the project
// namespace, or a cluster-scoped ClusterAnalysisTemplate.
type AnalysisTemplateReference struct {
	// Name is the template's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Kind is AnalysisTemplate (in the Stage's namespace; the default when empty) or
	// ClusterAnalysisTemplate (cluster-scoped), as Kargo.
	// +optional
	// +kubebuilder:validation:Enum=AnalysisTemplate;ClusterAnalysisTemplate
	Kind string `json:"kind,omitempty"`
}

// AnalysisRunMetadata is extra metadata put on every AnalysisRun a Stage's verification
// creates, as Kargo.
type AnalysisRunMetadata struct {
	// Labels are added to each AnalysisRun (Haul's own haul.dev/stage label wins on a
	// clash); at most 64.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are added to each AnalysisRun; at most 64.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// AnalysisRunArgument sets one argument of the AnalysisRun, overriding the value (or
// valueFrom) the templates give it, as Kargo.
type AnalysisRunArgument struct {
	// Name is the argument's name as the templates declare it; an argument no
	// template declares is ignored, as Kargo.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Value is the argument's value: a string that may hold ${{ }} expressions, which
	// see ctx.project, ctx.stage, vars and the Freight functions (imageFrom,
	// commitFrom, ...) and must evaluate to a string. Empty leaves the templates' value.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Value string `json:"value,omitempty"`
}

// Verification is run after a promotion once the Stage is healthy.
type Verification struct {
	// Steps run through the promotion step engine (e.g. http, job) and pass when every
	// step succeeds; at most 50. Haul-only: Kargo verifies with Argo Rollouts alone.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Steps []PromotionStep `json:"steps,omitempty"`
	// AnalysisTemplates run as one Argo Rollouts AnalysisRun (metrics and args merged
	// in order) after the steps pass. Without Argo Rollouts installed the verification
	// errors and the Freight stays unverified; at most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	AnalysisTemplates []AnalysisTemplateReference `json:"analysisTemplates,omitempty"`
	// AnalysisRunMetadata holds labels and annotations added to every AnalysisRun.
	// +optional
	AnalysisRunMetadata *AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
	// Args set arguments of every AnalysisRun (expressions allowed); at most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Args []AnalysisRunArgument `json:"args,omitempty"`
}

// ApprovalRequirement says how many people must approve Freight for a Stage before it
// may be promoted there, automatically or by hand. Haul-only: Kargo's approval is a
// single yes.
type ApprovalRequirement struct {
	// RequiredApprovals is how many distinct identities must approve, 1 to 20.
	// +optional
	// +default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	RequiredApprovals int32 `json:"requiredApprovals,omitempty"`
	// AllowedGroups, when set, counts only approvals by identities that belonged to at
	// least one of these groups when they approved (the groups the Haul server
	// authenticated, e.g. from the OIDC groups claim). At most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	AllowedGroups []string `json:"allowedGroups,omitempty"`
	// ForbidSelfApproval ("four eyes") does not count the approval of the identity
	// that asked for the Promotion (its haul.dev/create-actor), so nobody both approves
	// and promotes alone. Default false.
	// +optional
	ForbidSelfApproval bool `json:"forbidSelfApproval,omitempty"`
}

// PromotionQueue tunes how the Stage's waiting Promotions are handled.
type PromotionQueue struct {
	// SupersedePending ends older Pending Promotions of the Stage as Aborted (with
	// status.supersededBy) when a newer one is created, so a backlog does not replay old
	// Freight. A Running Promotion is never touched. Default false. Haul-only.
	// +optional
	SupersedePending bool `json:"supersedePending,omitempty"`
}

// StageSpec describes one node of the pipeline.
type StageSpec struct {
	// Vars are defaults for vars.<name> in the Stage's promotion steps, overridden by
	// promotionTemplate.spec.vars and the Promotion's vars. At most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
	// RequestedFreight lists the Freight the Stage takes, one entry per origin, 1 to
	// 20; a Promotion moves one Freight of one origin.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.exists_one(b, b.origin.kind == a.origin.kind && b.origin.name == a.origin.name))",message="requestedFreight: an origin may be requested at most once"
	// +listType=atomic
	RequestedFreight []FreightRequest `json:"requestedFreight"`
	// PromotionTemplate holds the steps a Promotion runs. A Stage with neither it nor
	// promotionMechanisms is a control-flow Stage: it only routes Freight, which counts
	// as verified there as soon as it is available.
	// +optional
	PromotionTemplate *PromotionTemplate `json:"promotionTemplate,omitempty"`
	// PromotionMechanisms is Kargo's older shorthand, used only when promotionTemplate
	// has no steps.
	// +optional
	PromotionMechanisms *PromotionMechanisms `json:"promotionMechanisms,omitempty"`
	// Verification runs after each successful Promotion once the Stage is healthy;
	// Freight that passes is marked verified here. Without it, healthy is verified.
	// +optional
	Verification *Verification `json:"verification,omitempty"`
	// Approval requires approvals by several people before Freight may be promoted
	// here; it wins over the project's approvalPolicies. Haul-only.
	// +optional
	Approval *ApprovalRequirement `json:"approval,omitempty"`
	// Paused stops new Promotions from starting on the Stage: Pending ones, manual or
	// automatic, wait with the message "stage is paused"; a Running one finishes.
	// Default false. Haul-only.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// PromotionQueue tunes how waiting Promotions are handled. Haul-only.
	// +optional
	PromotionQueue *PromotionQueue `json:"promotionQueue,omitempty"`
}

// HealthState is the health of a Stage.
// +kubebuilder:validation:Enum=Healthy;Progressing;Unhealthy;Unknown;NotApplicable
type HealthState string

const (
	// HealthHealthy means every health check passes.
	HealthHealthy HealthState = "Healthy"
	// HealthProgressing means a reconciler is still syncing or rolling out.
	HealthProgressing HealthState = "Progressing"
	// HealthUnhealthy means a health check failed; issues says which.
	HealthUnhealthy HealthState = "Unhealthy"
	// HealthUnknown means a health check could not be assessed.
	HealthUnknown HealthState = "Unknown"
	// HealthNotApplicable means the Stage has nothing to check.
	HealthNotApplicable HealthState = "NotApplicable"
)

// Health summarises the Stage's health checks: those left by the steps (argocd-update,
// flux-reconcile) of the Promotion that brought the current Freight.
type Health struct {
	// Status is the worst state of the checks: Healthy, Progressing, Unhealthy, Unknown
	// or NotApplicable.
	// +optional
	Status HealthState `json:"status,omitempty"`
	// Issues say what is not healthy, one line per problem, at most 1000.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=32768
	// +listType=atomic
	Issues []string `json:"issues,omitempty"`
	// CheckedAt is when the checks last ran.
	// +optional
	CheckedAt *metav1.Time `json:"checkedAt,omitempty"`
}

// FreightReference is a copy of the parts of a Freight a Stage needs to show.
type FreightReference struct {
	// Name is the Freight's name (its ID).
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Alias is the Freight's alias when the copy was taken.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Alias string `json:"alias,omitempty"`
	// Origin is the Warehouse the Freight came from.
	// +optional
	Origin FreightOrigin `json:"origin,omitzero"` //nolint:kubeapilinter // optional here as in Kargo; Freight recorded before origins existed has none
	// Images are the Freight's image versions.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Images []Image `json:"images,omitempty"`
	// Commits are the Freight's Git commits.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Commits []GitCommit `json:"commits,omitempty"`
	// Charts are the Freight's Helm chart versions.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Charts []Chart `json:"charts,omitempty"`
}

// VerificationPhase is the state of one verification run.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Errored;Aborted;Inconclusive
type VerificationPhase string

const (
	// VerificationPending means the run is recorded but has not started its steps.
	VerificationPending VerificationPhase = "Pending"
	// VerificationRunning means the run's steps or AnalysisRun are in progress.
	VerificationRunning VerificationPhase = "Running"
	// VerificationSucceeded means every check passed; the Freight is verified in the Stage.
	VerificationSucceeded VerificationPhase = "Succeeded"
	// VerificationFailed means a check ran and failed.
	VerificationFailed VerificationPhase = "Failed"
	// VerificationErrored means the checks could not run (bad config, missing engine).
	VerificationErrored VerificationPhase = "Errored"
	// VerificationAborted means the run was stopped by the haul.dev/abort annotation.
	VerificationAborted VerificationPhase = "Aborted"
	// VerificationInconclusive means the AnalysisRun ended Inconclusive (a metric met
	// neither its success nor its failure condition); the Freight is not verified.
	VerificationInconclusive VerificationPhase = "Inconclusive"
)

// VerificationResult records one verification run of the Stage's Freight. Kargo calls
// it VerificationInfo, with startTime and finishTime.
type VerificationResult struct {
	// ID identifies the run (a lowercase ULID).
	// +required
	// +kubebuilder:validation:MaxLength=253
	ID string `json:"id"`
	// Phase is Pending, Running, Succeeded, Failed, Errored, Aborted or Inconclusive.
	// +required
	Phase VerificationPhase `json:"phase"`
	// Message says how the run went or why it stopped.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Message string `json:"message,omitempty"`
	// StartedAt is when the run started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when the run reached a final phase.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Steps record how each verification step went, in order (tasks expanded: up to
	// 50 steps of up to 100 each).
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +listType=atomic
	Steps []StepExecutionMetadata `json:"steps,omitempty"`
	// AnalysisRun is the name of the Argo Rollouts AnalysisRun, when analysisTemplates
	// ran. Kargo stores an object reference here.
	// +optional
	// +kubebuilder:validation:MaxLength=253
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
	// +required
	// +kubebuilder:validation:MaxLength=8192
	ID string `json:"id"`
	// Items maps origin (Kind/name) to the Freight from it.
	// +optional
	Items map[string]FreightReference `json:"items,omitempty"`
	// PromotedAt is when the Promotion that brought this collection finished.
	// Haul-only.
	// +optional
	PromotedAt *metav1.Time `json:"promotedAt,omitempty"`
	// Promotion is the name of that Promotion. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Promotion string `json:"promotion,omitempty"`
	// VerificationHistory holds the verification runs of this collection, newest
	// first, at most ten.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	VerificationHistory []VerificationResult `json:"verificationHistory,omitempty"`
}

// PromotionReference points at a Promotion from a Stage. Kargo's holds a full Freight
// reference and the Promotion's status instead of freight, freightAlias and phase.
type PromotionReference struct {
	// Name is the Promotion's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Freight is the name of the Freight it promotes.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Freight string `json:"freight,omitempty"`
	// FreightAlias is that Freight's alias.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	FreightAlias string `json:"freightAlias,omitempty"`
	// Phase is the Promotion's phase when the Stage last looked.
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// FinishedAt is when the Promotion finished, if it has.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// PullRequest is the open pull request the running Promotion waits on (a
	// git-wait-for-pr or git-merge-pr step), unset otherwise. Haul-only.
	// +optional
	PullRequest *PullRequestStatus `json:"pullRequest,omitempty"`
}

// AutoPromotionHold stops auto-promotion of one origin after a manual promotion of
// Freight other than the candidate. Promoting the candidate again releases it.
// Haul-only.
type AutoPromotionHold struct {
	// Origin is the Freight origin whose auto-promotion is held.
	// +required
	Origin FreightOrigin `json:"origin"`
	// Freight is what was promoted by hand.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Freight string `json:"freight"`
	// FreightAlias is that Freight's alias.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	FreightAlias string `json:"freightAlias,omitempty"`
	// Promotion is the manual Promotion that set the hold.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Promotion string `json:"promotion,omitempty"`
	// Since is when the hold began.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// Reason says why auto-promotion is held and how to release it.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Reason string `json:"reason,omitempty"`
}

// StageStatus is what the Stage controller observed; it is the only writer.
type StageStatus struct {
	// ObservedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions hold the latest observations: Ready (summarises the others), Promoting
	// (a Promotion runs), Healthy (the current Freight's health checks) and Verified
	// (the current Freight passed verification here).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// FreightHistory is newest first, at most ten entries; the first is current.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	FreightHistory []FreightCollection `json:"freightHistory,omitempty"`
	// Health is the result of the current Freight's health checks.
	// +optional
	Health *Health `json:"health,omitempty"`
	// CurrentPromotion is the running Promotion, if any. The lock that lets one
	// Promotion run at a time is a Lease named after the Stage; this only reports it.
	// +optional
	CurrentPromotion *PromotionReference `json:"currentPromotion,omitempty"`
	// LastPromotion is the Promotion that finished last, whatever its phase.
	// +optional
	LastPromotion *PromotionReference `json:"lastPromotion,omitempty"`
	// AutoPromotionEnabled says whether the project's promotion policies let Haul
	// promote this Stage by itself.
	// +optional
	AutoPromotionEnabled bool `json:"autoPromotionEnabled,omitempty"`
	// Metadata holds JSON values by key, as Kargo's Stage status does. The Stage
	// controller writes `stableFreight` there: for each requested origin
	// ("Warehouse/<name>"), the name of the Freight last verified in the Stage, the one
	// an automatic rollback returns to. Read it with stageMetadata(name).
	// +optional
	Metadata map[string]apiextensionsv1.JSON `json:"metadata,omitempty"`
	// AutoPromotionHolds list the origins whose auto-promotion is paused by a manual
	// promotion or a rollback, at most one per requested origin. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	AutoPromotionHolds []AutoPromotionHold `json:"autoPromotionHolds,omitempty"`
	// PromotionWindowStatus is the schedule of the promotion windows that select the
	// Stage (ProjectConfig and ClusterConfig): open now or not, and the next change.
	// Absent when no window selects it.
	// +optional
	PromotionWindowStatus *PromotionWindowStatus `json:"promotionWindowStatus,omitempty"`
	// FreightSummary is the current Freight's alias (or a count when there are several
	// origins), for the Freight print column.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	FreightSummary string `json:"freightSummary,omitempty"`
	// LastHandledRefresh is the value of the haul.dev/refresh annotation last acted
	// upon; bounded only by the API server's 256 KiB limit on annotations.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
	LastHandledRefresh string `json:"lastHandledRefresh,omitempty"`
	// LastHandledReverify is the value of the haul.dev/reverify annotation last acted
	// upon, to re-run verification of the current Freight. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
	LastHandledReverify string `json:"lastHandledReverify,omitempty"`
	// LastHandledAbort is the value of the haul.dev/abort annotation last acted upon,
	// to abort the running verification. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
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
// +kubebuilder:printcolumn:name="Shard",type=string,JSONPath=`.metadata.labels.haul\.dev/shard`,priority=1
// +kubebuilder:printcolumn:name="Paused",type=boolean,JSONPath=`.spec.paused`,priority=1
// +kubebuilder:printcolumn:name="Window Closed",type=boolean,JSONPath=`.status.promotionWindowStatus.closed`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Stage struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which Freight the Stage takes, how to promote and how to verify it.
	// +required
	Spec StageSpec `json:"spec"`
	// Status is written by the Stage controller.
	// +optional
	Status StageStatus `json:"status,omitzero"`
}

// StageList is a list of Stages.
//
// +kubebuilder:object:root=true
type StageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Stages.
	Items []Stage `json:"items"`
}
