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
	// PromotionAborted means the haul.dev/abort annotation stopped the Promotion.
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
}

// Promotion is one run of a Stage's steps for one Freight.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=promo
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stage`
// +kubebuilder:printcolumn:name="Freight",type=string,JSONPath=`.spec.freight`
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
