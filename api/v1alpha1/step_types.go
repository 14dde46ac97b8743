package v1alpha1

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Var is a named value available to expressions as vars.<name>.
type Var struct {
	// Name is an identifier (letters, digits, underscore; not starting with a digit),
	// at most 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// Value is the var's value; it may hold ${{ expressions }}, evaluated when a step
	// reads it. At most 64 KiB.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Value string `json:"value,omitempty"`
}

// PromotionTaskKind is the kind of a referenced task.
// +kubebuilder:validation:Enum=PromotionTask;ClusterPromotionTask
type PromotionTaskKind string

const (
	// PromotionTaskKindNamespaced refers to a PromotionTask in the project namespace.
	PromotionTaskKindNamespaced PromotionTaskKind = "PromotionTask"
	// PromotionTaskKindCluster refers to a ClusterPromotionTask.
	PromotionTaskKindCluster PromotionTaskKind = "ClusterPromotionTask"
)

// PromotionTaskReference points at a reusable list of steps.
type PromotionTaskReference struct {
	// Name is the task's name, 1 to 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Kind is PromotionTask (default; in the project namespace) or ClusterPromotionTask.
	// +optional
	// +default="PromotionTask"
	Kind PromotionTaskKind `json:"kind,omitempty"`
}

// MaxStepTimeout is the longest timeout a step may set (retry.timeout, and a step
// config's own timeout such as the http step's): a Promotion holds its Stage while a
// step runs, so a step may not hold it for days.
const MaxStepTimeout = 24 * time.Hour

// StepRetry bounds how long and how often a step is retried.
type StepRetry struct {
	// Timeout is a soft limit on how long a step may keep reporting Running (or keep
	// erroring below errorThreshold), a Go duration such as 10m; at most 24h. When it
	// passes, a Running step fails and an erroring one errors. Unset: the step kind's
	// default (5m for argocd-update and argocd-wait, as Kargo), else no limit. 0: no
	// limit, also where the step has a default; the step waits until it finishes or
	// the Promotion is aborted, and its message says so.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",messageExpression="'retry.timeout ' + self + ' is longer than the maximum of 24h'"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// ErrorThreshold is how many consecutive errors fail the step, 1 to 100; default 1
	// (the first error fails it). Errors below it are retried with backoff.
	// +optional
	// +default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	ErrorThreshold int32 `json:"errorThreshold,omitempty"`
}

// PromotionStep is one step of a promotion or verification: a built-in step (uses) or a
// reference to a PromotionTask (task).
//
// +kubebuilder:validation:XValidation:rule="has(self.uses) != has(self.task)",message="steps[]: exactly one of uses or task must be set"
type PromotionStep struct {
	// Uses names a built-in step, e.g. git-clone, kustomize-set-image or
	// argocd-update, at most 63 characters. Set exactly one of uses and task.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Uses string `json:"uses,omitempty"`
	// Task refers to a PromotionTask or ClusterPromotionTask whose steps run in place
	// of this one. Tasks cannot refer to tasks.
	// +optional
	Task *PromotionTaskReference `json:"task,omitempty"`
	// As is the step's alias, unique among the steps; outputs are available as
	// outputs.<as>. Default step-N (N counting from 1). Steps expanded from a task (in
	// Promotion.status.steps) are "<taskAlias>::<stepAlias>". At most 127 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_-]*(::[A-Za-z_][A-Za-z0-9_-]*)?$`
	As string `json:"as,omitempty"`
	// If is an expression; the step runs only when it is true, and is Skipped
	// otherwise. Default success() (every earlier step succeeded). At most 4096
	// characters.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	If string `json:"if,omitempty"`
	// ContinueOnError lets the Promotion go on when this step fails or errors; the
	// step keeps its Failed or Errored status. Default false.
	// +optional
	ContinueOnError bool `json:"continueOnError,omitempty"`
	// Retry bounds how long and how often the step is retried.
	// +optional
	Retry *StepRetry `json:"retry,omitempty"`
	// Vars are this step's own vars, overriding the Stage's, the template's and the
	// Promotion's for this step only. At most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
	// Config is the step's configuration, whose keys depend on the step (Kargo's keys
	// for Kargo's steps); string values may hold ${{ expressions }}.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// PromotionTaskSpec is a reusable list of steps with default vars.
type PromotionTaskSpec struct {
	// Vars are the task's parameters with their defaults; a var of the same name set
	// by the Promotion, the Stage or the task step overrides the default. At most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Vars []Var `json:"vars,omitempty"`
	// Steps run in order in place of the task step, 1 to 100; they cannot refer to
	// other tasks.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Steps []PromotionStep `json:"steps"`
}

// PromotionTask is a reusable list of steps in a project namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=pt
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PromotionTask struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec holds the task's vars and steps.
	// +required
	Spec PromotionTaskSpec `json:"spec"`
}

// PromotionTaskList is a list of PromotionTasks.
//
// +kubebuilder:object:root=true
type PromotionTaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the PromotionTasks.
	Items []PromotionTask `json:"items"`
}

// ClusterPromotionTask is a reusable list of steps shared by every project.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul,shortName=cpt
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPromotionTask struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec holds the task's vars and steps.
	// +required
	Spec PromotionTaskSpec `json:"spec"`
}

// ClusterPromotionTaskList is a list of ClusterPromotionTasks.
//
// +kubebuilder:object:root=true
type ClusterPromotionTaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterPromotionTasks.
	Items []ClusterPromotionTask `json:"items"`
}
