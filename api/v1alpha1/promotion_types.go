package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PromotionPhase is where a Promotion is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Errored;Aborted
type PromotionPhase string

const (
	// PromotionPending means the Promotion waits for its Stage's lock or its Freight.
	PromotionPending PromotionPhase = "Pending"
	// PromotionRunning means the Promotion holds the Stage and runs its steps.
	PromotionRunning PromotionPhase = "Running"
	// PromotionSucceeded means every step succeeded (or was skipped); the Freight is in the Stage.
	PromotionSucceeded PromotionPhase = "Succeeded"
	// PromotionFailed means a step failed on its own terms (e.g. a check did not pass).
	PromotionFailed PromotionPhase = "Failed"
	// PromotionErrored means a step or the Promotion could not run (bad config, Freight not
	// available, errors past the threshold).
	PromotionErrored PromotionPhase = "Errored"
	// PromotionAborted means the haul.dev/abort annotation stopped the Promotion, or a
	// newer Promotion of the Stage superseded it while it was Pending (status.supersededBy).
	PromotionAborted PromotionPhase = "Aborted"
)

// IsTerminal says whether the phase is final.
func (p PromotionPhase) IsTerminal() bool {
	switch p {
	case PromotionSucceeded, PromotionFailed, PromotionErrored, PromotionAborted:
		return true
	}
	return false
}

// StepStatus is the outcome of one step execution.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Errored;Skipped;Aborted
type StepStatus string

const (
	// StepPending means the step has not started.
	StepPending StepStatus = "Pending"
	// StepRunning means the step started and reports again later (e.g. waits for a sync).
	StepRunning StepStatus = "Running"
	// StepSucceeded means the step did its work.
	StepSucceeded StepStatus = "Succeeded"
	// StepFailed means the step ran and its outcome was negative.
	StepFailed StepStatus = "Failed"
	// StepErrored means the step could not run, or erred errorThreshold times.
	StepErrored StepStatus = "Errored"
	// StepSkipped means the step's if was false, or it had nothing to do.
	StepSkipped StepStatus = "Skipped"
	// StepAborted means the Promotion was aborted while the step ran.
	StepAborted StepStatus = "Aborted"
)

// StepExecutionMetadata records how one step went.
type StepExecutionMetadata struct {
	// Alias is the step's alias (its as, or step-N).
	// +required
	// +kubebuilder:validation:MaxLength=256
	Alias string `json:"alias"`
	// StartedAt is when the step first ran.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when the step reached a final status.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// ErrorCount is how many consecutive errors the step has had.
	// +optional
	ErrorCount int32 `json:"errorCount,omitempty"`
	// Status is Pending, Running, Succeeded, Failed, Errored, Skipped or Aborted.
	// +optional
	Status StepStatus `json:"status,omitempty"`
	// Message is what the step last reported, secrets masked, cut to 1024 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`
	// PullRequest is the pull request the step opened, waits on or merged
	// (git-open-pr, git-wait-for-pr, git-merge-pr), as the forge last reported it.
	// Unset for other steps. Haul-only.
	// +optional
	PullRequest *PullRequestStatus `json:"pullRequest,omitempty"`
}

// PullRequestState is where a pull request stands on its forge.
// +kubebuilder:validation:Enum=open;merged;closed
type PullRequestState string

// States of a pull request; closed means closed without being merged.
const (
	PullRequestOpen   PullRequestState = "open"
	PullRequestMerged PullRequestState = "merged"
	PullRequestClosed PullRequestState = "closed"
)

// PullRequestStatus is a pull request (a GitLab merge request) on a forge, as a
// pull-request step last saw it. Haul-only.
type PullRequestStatus struct {
	// URL is the pull request's web page on the forge, at most 2048 characters.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
	// Number is the pull request's number in its repository (GitLab's IID), at
	// least 1.
	// +required
	// +kubebuilder:validation:Minimum=1
	Number int64 `json:"number"`
	// State is open, merged, or closed (closed without being merged).
	// +required
	State PullRequestState `json:"state"`
}

// HealthCheckStep is left behind by a step (argocd-update, flux-reconcile) for the
// Stage to assess its health with.
type HealthCheckStep struct {
	// Uses names the step whose health check runs, e.g. argocd-update.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Uses string `json:"uses"`
	// Config is what the check needs, e.g. the Applications and the revision expected.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// PromotionSpec asks for a Freight to be promoted to a Stage. It is immutable.
type PromotionSpec struct {
	// Stage is the name of the Stage to promote to, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Stage string `json:"stage"`
	// Freight is the name (ID) of the Freight to promote; it must be available to the
	// Stage, or the Promotion ends Errored.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Freight string `json:"freight"`
	// Vars override the Stage's vars of the same name for this Promotion. At most 100.
	// Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
}

// PromotionStatus records the progress of a Promotion; it is enough to resume after a restart.
type PromotionStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase is Pending, Running, Succeeded, Failed, Errored or Aborted; the last four
	// are final.
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// Message says what the Promotion is doing or why it ended, secrets masked.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Message string `json:"message,omitempty"`
	// Freight is a copy of the promoted Freight, taken when the Promotion started.
	// +optional
	Freight *FreightReference `json:"freight,omitempty"`
	// Steps is the snapshot of the Stage's steps (tasks expanded) taken at start, so
	// a Stage edited meanwhile does not change a running Promotion. Up to 100 steps of
	// up to 100 each. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +listType=atomic
	Steps []PromotionStep `json:"steps,omitempty"`
	// Vars is the snapshot of the merged vars (Stage, template, Promotion) taken at
	// start. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=300
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
	// CurrentStep is the index of the step being run, counting from 0.
	// +optional
	CurrentStep int32 `json:"currentStep,omitempty"`
	// StepExecutionMetadata records how each step went, in step order.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +listType=atomic
	StepExecutionMetadata []StepExecutionMetadata `json:"stepExecutionMetadata,omitempty"`
	// State holds step outputs by alias, for outputs.<alias> in later steps and to
	// resume after a restart.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	State *apiextensionsv1.JSON `json:"state,omitempty"`
	// HealthChecks are left by steps (argocd-update, flux-reconcile) for the Stage to
	// judge its health with while this Promotion's Freight is current.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +listType=atomic
	HealthChecks []HealthCheckStep `json:"healthChecks,omitempty"`
	// StartedAt is when the Promotion took the Stage's lock and began. Haul-only.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when the Promotion reached a final phase.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Sequence is this Promotion's place in the order its Stage's Promotions started
	// (1, 2, 3, ...), counted by the Stage's promotion lock. A Stage runs one
	// Promotion at a time, so it also orders their finishes where startedAt and
	// finishedAt, with whole seconds, cannot. 0 until the Promotion starts.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Sequence int64 `json:"sequence,omitempty"`
	// SupersededBy names the newer Promotion of the same Stage that ended this one
	// while it was still Pending, when the Stage's promotionQueue.supersedePending is
	// on. Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SupersededBy string `json:"supersededBy,omitempty"`
}

// PullRequest is the pull request the Promotion is about: the one recorded by its
// current step when that step has one, else the last one a step recorded; nil when no
// step recorded any.
func (s *PromotionStatus) PullRequest() *PullRequestStatus {
	if i := int(s.CurrentStep); i >= 0 && i < len(s.StepExecutionMetadata) && s.StepExecutionMetadata[i].PullRequest != nil {
		return s.StepExecutionMetadata[i].PullRequest
	}
	for i := len(s.StepExecutionMetadata) - 1; i >= 0; i-- {
		if pr := s.StepExecutionMetadata[i].PullRequest; pr != nil {
			return pr
		}
	}
	return nil
}

// WaitingPullRequest is the pull request the Promotion's running step waits on, or
// nil when it is not Running or its current step waits on none.
func (s *PromotionStatus) WaitingPullRequest() *PullRequestStatus {
	if s.Phase != PromotionRunning {
		return nil
	}
	i := int(s.CurrentStep)
	if i < 0 || i >= len(s.StepExecutionMetadata) {
		return nil
	}
	m := s.StepExecutionMetadata[i]
	if m.Status != StepRunning || m.PullRequest == nil || m.PullRequest.State != PullRequestOpen {
		return nil
	}
	return m.PullRequest
}

// Promotion is one run of a Stage's steps for one Freight.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=promo
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stage`
// +kubebuilder:printcolumn:name="Freight",type=string,JSONPath=`.spec.freight`
// +kubebuilder:printcolumn:name="Shard",type=string,JSONPath=`.metadata.labels.haul\.dev/shard`,priority=1
// +kubebuilder:printcolumn:name="Alias",type=string,JSONPath=`.status.freight.alias`,priority=1
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Promotion struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the Stage and the Freight; immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
	Spec PromotionSpec `json:"spec"`
	// Status is written by the Promotion controller.
	// +optional
	Status PromotionStatus `json:"status,omitzero"`
}

// PromotionList is a list of Promotions.
//
// +kubebuilder:object:root=true
type PromotionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Promotions.
	Items []Promotion `json:"items"`
}
