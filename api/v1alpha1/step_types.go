package v1alpha1

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Var is a named value available to expressions as vars.<name>.
type Var struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// Value may hold ${{ expressions }}.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Value string `json:"value,omitempty"`
}

// PromotionTaskKind is the kind of a referenced task.
// +kubebuilder:validation:Enum=PromotionTask;ClusterPromotionTask
type PromotionTaskKind string

const (
	PromotionTaskKindNamespaced PromotionTaskKind = "PromotionTask"
	PromotionTaskKindCluster    PromotionTaskKind = "ClusterPromotionTask"
)

// PromotionTaskReference points at a reusable list of steps.
type PromotionTaskReference struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	// +kubebuilder:default=PromotionTask
	Kind PromotionTaskKind `json:"kind,omitempty"`
}

// MaxStepTimeout is the longest timeout a step may set (retry.timeout, and a step
// config's own timeout such as the http step's): a Promotion holds its Stage while a
// step runs, so a step may not hold it for days.
const MaxStepTimeout = 24 * time.Hour

// StepRetry bounds how long and how often a step is retried.
type StepRetry struct {
	// Timeout is a soft limit on how long a step may keep reporting Running (0 = no
	// limit of its own); at most 24h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",messageExpression="'retry.timeout ' + self + ' is longer than the maximum of 24h'"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// ErrorThreshold is how many consecutive errors fail the step.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	ErrorThreshold int32 `json:"errorThreshold,omitempty"`
}

// PromotionStep is one step of a promotion or verification: a built-in step (uses) or a
// reference to a PromotionTask (task).
//
// +kubebuilder:validation:XValidation:rule="has(self.uses) != has(self.task)",message="steps[]: exactly one of uses or task must be set"
type PromotionStep struct {
	// Uses names a built-in step, e.g. git-clone.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Uses string `json:"uses,omitempty"`
	// +optional
	Task *PromotionTaskReference `json:"task,omitempty"`
	// As is the step's alias; outputs are available as outputs.<as>. Default step-N.
	// Steps expanded from a task (in Promotion.status.steps) are "<taskAlias>::<stepAlias>".
	// +optional
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_-]*(::[A-Za-z_][A-Za-z0-9_-]*)?$`
	As string `json:"as,omitempty"`
	// If is an expression; the step runs only when it is true. Default success().
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	If string `json:"if,omitempty"`
	// +optional
	ContinueOnError bool `json:"continueOnError,omitempty"`
	// +optional
	Retry *StepRetry `json:"retry,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Vars []Var `json:"vars,omitempty"`
	// Config is the step's configuration; string values may hold ${{ expressions }}.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// PromotionTaskSpec is a reusable list of steps with default vars.
type PromotionTaskSpec struct {
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Vars []Var `json:"vars,omitempty"`
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Steps []PromotionStep `json:"steps"`
}

// PromotionTask is a reusable list of steps in a project namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=pt
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PromotionTask struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +required
	Spec PromotionTaskSpec `json:"spec"`
}

// PromotionTaskList is a list of PromotionTasks.
//
// +kubebuilder:object:root=true
type PromotionTaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PromotionTask `json:"items"`
}

// ClusterPromotionTask is a reusable list of steps shared by every project.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul,shortName=cpt
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPromotionTask struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +required
	Spec PromotionTaskSpec `json:"spec"`
}

// ClusterPromotionTaskList is a list of ClusterPromotionTasks.
//
// +kubebuilder:object:root=true
type ClusterPromotionTaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPromotionTask `json:"items"`
}
