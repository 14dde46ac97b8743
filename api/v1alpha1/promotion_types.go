package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PromotionPhase is where a Promotion is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Errored;Aborted
type PromotionPhase string

const (
	PromotionPending   PromotionPhase = "Pending"
	PromotionRunning   PromotionPhase = "Running"
	PromotionSucceeded PromotionPhase = "Succeeded"
	PromotionFailed    PromotionPhase = "Failed"
	PromotionErrored   PromotionPhase = "Errored"
	PromotionAborted   PromotionPhase = "Aborted"
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
	StepPending   StepStatus = "Pending"
	StepRunning   StepStatus = "Running"
	StepSucceeded StepStatus = "Succeeded"
	StepFailed    StepStatus = "Failed"
	StepErrored   StepStatus = "Errored"
	StepSkipped   StepStatus = "Skipped"
	StepAborted   StepStatus = "Aborted"
)

// StepExecutionMetadata records how one step went.
type StepExecutionMetadata struct {
	Alias string `json:"alias"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	ErrorCount int32 `json:"errorCount,omitempty"`
	// +optional
	Status StepStatus `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// HealthCheckStep is left behind by a step (argocd-update, flux-reconcile) for the
// Stage to assess its health with.
type HealthCheckStep struct {
	Uses string `json:"uses"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// PromotionSpec asks for a Freight to be promoted to a Stage. It is immutable.
type PromotionSpec struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Stage string `json:"stage"`
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Freight string `json:"freight"`
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Vars []Var `json:"vars,omitempty"`
}

// PromotionStatus records the progress of a Promotion; it is enough to resume after a restart.
type PromotionStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Freight is a copy of the promoted Freight, taken when the Promotion started.
	// +optional
	Freight *FreightReference `json:"freight,omitempty"`
	// Steps is the snapshot of the Stage's steps (tasks expanded) taken at start.
	// +optional
	Steps []PromotionStep `json:"steps,omitempty"`
	// Vars is the snapshot of the merged vars taken at start.
	// +optional
	Vars []Var `json:"vars,omitempty"`
	// CurrentStep is the index of the step being run.
	// +optional
	CurrentStep int32 `json:"currentStep,omitempty"`
	// +optional
	StepExecutionMetadata []StepExecutionMetadata `json:"stepExecutionMetadata,omitempty"`
	// State holds step outputs by alias.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	State *apiextensionsv1.JSON `json:"state,omitempty"`
	// +optional
	HealthChecks []HealthCheckStep `json:"healthChecks,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
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
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
	Spec PromotionSpec `json:"spec"`
	// +optional
	Status PromotionStatus `json:"status,omitzero"`
}

// PromotionList is a list of Promotions.
//
// +kubebuilder:object:root=true
type PromotionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Promotion `json:"items"`
}
