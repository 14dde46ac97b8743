package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// StageSelector picks Stages by name (exact, `glob:PATTERN` or `regex:PATTERN`) and/or labels.
type StageSelector struct {
	// Name is an exact stage name, or `glob:PATTERN`, or `regex:PATTERN`.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// PromotionPolicy switches automation on for the Stages it selects.
type PromotionPolicy struct {
	// +required
	StageSelector StageSelector `json:"stageSelector"`
	// AutoPromotionEnabled lets Haul create Promotions for the selected Stages by itself.
	// +optional
	// +kubebuilder:default=false
	AutoPromotionEnabled bool `json:"autoPromotionEnabled"`
}

// SecretRef names a Secret in the project namespace.
type SecretRef struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// WebhookProvider configures how one kind of webhook is authenticated.
type WebhookProvider struct {
	// SecretRef names the Secret whose `secret` key holds the shared secret or token.
	// +required
	SecretRef SecretRef `json:"secretRef"`
}

// WebhookReceiver is an endpoint, served at /webhooks/<project>/<name>, that refreshes
// every Warehouse of the project subscribed to the repository named in the payload.
//
// +kubebuilder:validation:XValidation:rule="[has(self.github), has(self.gitlab), has(self.dockerhub), has(self.quay), has(self.harbor), has(self.generic)].filter(x, x).size() == 1",message="webhookReceivers[]: exactly one of github, gitlab, dockerhub, quay, harbor or generic must be set"
type WebhookReceiver struct {
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// +optional
	GitHub *WebhookProvider `json:"github,omitempty"`
	// +optional
	GitLab *WebhookProvider `json:"gitlab,omitempty"`
	// +optional
	DockerHub *WebhookProvider `json:"dockerhub,omitempty"`
	// +optional
	Quay *WebhookProvider `json:"quay,omitempty"`
	// +optional
	Harbor *WebhookProvider `json:"harbor,omitempty"`
	// +optional
	Generic *WebhookProvider `json:"generic,omitempty"`
}

// Link is a URL template shown in the dashboard next to Freight or Stages.
type Link struct {
	// +required
	// +kubebuilder:validation:MaxLength=100
	Name string `json:"name"`
	// +required
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
}

// ProjectConfigSpec holds a project's policies.
type ProjectConfigSpec struct {
	// PromotionPolicies are evaluated in order; the first one that selects a Stage wins.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	PromotionPolicies []PromotionPolicy `json:"promotionPolicies,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	WebhookReceivers []WebhookReceiver `json:"webhookReceivers,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	FreightLinks []Link `json:"freightLinks,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=20
	StageLinks []Link `json:"stageLinks,omitempty"`
}

// WebhookReceiverStatus publishes where a receiver listens.
type WebhookReceiverStatus struct {
	Name string `json:"name"`
	// Path is the receiver's path on the Haul server, e.g. /webhooks/demo/github.
	Path string `json:"path"`
	// +optional
	URL string `json:"url,omitempty"`
}

// ProjectConfigStatus reports the receivers and whether the config is valid.
type ProjectConfigStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	WebhookReceivers []WebhookReceiverStatus `json:"webhookReceivers,omitempty"`
}

// ProjectConfig holds the policies of the project whose namespace it lives in; its name
// must equal that namespace (enforced by the ValidatingAdmissionPolicy shipped with the CRDs).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=projcfg
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ProjectConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ProjectConfigSpec `json:"spec,omitzero"`
	// +optional
	Status ProjectConfigStatus `json:"status,omitzero"`
}

// ProjectConfigList is a list of ProjectConfigs.
//
// +kubebuilder:object:root=true
type ProjectConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProjectConfig `json:"items"`
}

// WebhookReceiverPathPrefix is the URL path under which the Haul server serves every
// webhook receiver: a receiver named R in project P listens at
// WebhookReceiverPathPrefix + P + "/" + R.
const WebhookReceiverPathPrefix = "/webhooks/"
