package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// StageSelector picks Stages by name (exact, `glob:PATTERN` or `regex:PATTERN`) and/or
// labels. A Stage is selected when its name and its labels both match; an empty selector
// selects every Stage of the project. A pattern or label expression that cannot be
// parsed selects nothing, so a typo never switches automation on.
type StageSelector struct {
	// Name is an exact Stage name, `glob:PATTERN` (a shell pattern such as
	// `glob:prod-*`) or `regex:PATTERN` (an unanchored Go regular expression). Empty
	// matches every name. At most 253 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// MatchLabels selects Stages whose labels hold every key and value listed, as in a
	// Kubernetes label selector. Kargo inlines a LabelSelector here, with the same keys.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// MatchExpressions are label selector requirements (key, operator In, NotIn,
	// Exists or DoesNotExist, values) that a selected Stage's labels must all meet.
	// At most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// PromotionPolicy switches automation on for the Stages it selects.
type PromotionPolicy struct {
	// StageSelector picks the Stages this policy applies to.
	// +optional
	StageSelector StageSelector `json:"stageSelector"`
	// AutoPromotionEnabled lets Haul create Promotions for the selected Stages by itself,
	// whenever newer Freight becomes available to them. Default false: Stages that no
	// policy selects are promoted only by hand.
	// +optional
	// +default=false
	AutoPromotionEnabled bool `json:"autoPromotionEnabled"` //nolint:kubeapilinter // omitempty would drop an explicit false and the default would turn it true
	// AutoRollback makes Haul promote a selected Stage back to its stable Freight (the
	// Freight last verified there, recorded in status.metadata.stableFreight) when
	// newer Freight fails there. Absent: no automatic rollback. Kargo's field, which
	// Kargo OSS ignores.
	// +optional
	AutoRollback *AutoRollbackConfig `json:"autoRollback,omitempty"`
}

// AutoRollbackConfig says which failures roll a Stage back. A rollback Promotion is
// created only once the Stage has no Promotion pending or running, only for a failure
// that ended within the last 20 minutes, never for Freight a rollback brought, and only
// when a stable Freight other than the failed one exists. It holds auto-promotion of the
// origin until someone promotes the candidate by hand.
type AutoRollbackConfig struct {
	// OnVerification lists the verification phases that trigger a rollback: Failed
	// and/or Error (Haul's Errored; Kargo spells the AnalysisRun phase). Empty means
	// [Failed].
	// +optional
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	OnVerification []RollbackVerificationPhase `json:"onVerification,omitempty"`
	// OnPromotion lists the Promotion phases that trigger a rollback: Failed and/or
	// Errored. Empty (the default) means none: a Promotion often fails for reasons
	// that have nothing to do with the Freight (an expired credential, the network).
	// +optional
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	OnPromotion []RollbackPromotionPhase `json:"onPromotion,omitempty"`
}

// RollbackVerificationPhase is a verification outcome that can trigger a rollback.
// +kubebuilder:validation:Enum=Failed;Error
type RollbackVerificationPhase string

// RollbackPromotionPhase is a Promotion outcome that can trigger a rollback.
// +kubebuilder:validation:Enum=Failed;Errored
type RollbackPromotionPhase string

// ApprovalPolicy requires approvals by several people for the Stages it selects. A
// Stage's own spec.approval wins over every policy. Haul-only.
type ApprovalPolicy struct {
	// StageSelector picks the Stages this policy applies to.
	// +optional
	StageSelector StageSelector `json:"stageSelector"`
	// ApprovalRequirement holds requiredApprovals, allowedGroups and forbidSelfApproval.
	ApprovalRequirement `json:",inline"`
}

// SecretRef names a Secret in the project namespace.
type SecretRef struct {
	// Name is the Secret's name, 1 to 253 characters of a Kubernetes object name
	// (lowercase DNS subdomain). It is never namespace/name: the namespace is fixed by
	// where the reference is used (the project's own, or the cluster secrets
	// namespace for a ClusterMessageChannel), so no reference reaches another
	// project's Secrets.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// WebhookProvider configures how one kind of webhook is authenticated.
type WebhookProvider struct {
	// SecretRef names the Secret, in the project namespace (the cluster secrets
	// namespace for a ClusterConfig receiver), whose `secret` key holds the shared secret
	// (github, gitlab, gitea, bitbucket) or bearer token (dockerhub, quay, harbor, azure).
	// +required
	SecretRef SecretRef `json:"secretRef"`
}

// WebhookReceiver is an endpoint, served at /webhooks/<project>/<name> (a ClusterConfig
// receiver at /webhooks/-/cluster/<name>), that refreshes every Warehouse of the project
// (of every project, for a ClusterConfig receiver) subscribed to the repository named in
// the payload, and wakes the Promotions there waiting on a pull request the payload says
// was merged or closed.
//
// +kubebuilder:validation:XValidation:rule="[has(self.github), has(self.gitlab), has(self.dockerhub), has(self.quay), has(self.harbor), has(self.generic), has(self.gitea), has(self.bitbucket), has(self.artifactory), has(self.azure)].filter(x, x).size() == 1",message="webhookReceivers[]: exactly one of github, gitlab, gitea, dockerhub, quay, harbor, generic, bitbucket, artifactory or azure must be set"
type WebhookReceiver struct {
	// Name is the last segment of the receiver's path, a DNS label of at most 63
	// characters, unique in the project.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// GitHub accepts GitHub push events signed with X-Hub-Signature-256 (HMAC-SHA256 of
	// the body with the shared secret). Its pull_request events, merged or closed, wake
	// the Promotions waiting on that pull request.
	// +optional
	GitHub *WebhookProvider `json:"github,omitempty"`
	// GitLab accepts GitLab push events whose X-Gitlab-Token header equals the secret.
	// Its merge request events, merged or closed, wake the Promotions waiting on that
	// merge request.
	// +optional
	GitLab *WebhookProvider `json:"gitlab,omitempty"`
	// Gitea accepts Gitea (and Forgejo) push and pull request events signed with
	// X-Hub-Signature-256 (HMAC-SHA256 of the body with the shared secret), as Kargo's
	// gitea receiver. A push refreshes Warehouses; a pull request merged or closed
	// wakes the Promotions waiting on it.
	// +optional
	Gitea *WebhookProvider `json:"gitea,omitempty"`
	// DockerHub accepts Docker Hub push notifications carrying the secret as a bearer
	// token, in the URL's ?token= query or the Authorization header.
	// +optional
	DockerHub *WebhookProvider `json:"dockerhub,omitempty"`
	// Quay accepts Quay repository push notifications carrying the secret as a bearer
	// token, in the URL's ?token= query or the Authorization header.
	// +optional
	Quay *WebhookProvider `json:"quay,omitempty"`
	// Harbor accepts Harbor PUSH_ARTIFACT events carrying the secret as a bearer token,
	// in the URL's ?token= query or the Authorization header.
	// +optional
	Harbor *WebhookProvider `json:"harbor,omitempty"`
	// Generic accepts any POST authenticated by X-Haul-Signature (HMAC-SHA256 of the body
	// with the shared secret) or by the secret as a bearer token (?token= or
	// Authorization: Bearer), for CI systems and hosts without their own format. Without
	// actions the body is {"repoURL": "..."} or {"repoURLs": [...]}; with actions it is
	// any JSON, and each action runs as Kargo's generic receiver runs it.
	// +optional
	Generic *GenericWebhookProvider `json:"generic,omitempty"`
	// Bitbucket accepts Bitbucket Cloud repo:push and Bitbucket Data Center
	// repo:refs_changed events (X-Event-Key) signed with X-Hub-Signature
	// ("sha256=" + hex HMAC-SHA256 of the body with the shared secret), as Kargo's
	// bitbucket receiver. Pull-request events are answered and ignored.
	// +optional
	Bitbucket *WebhookProvider `json:"bitbucket,omitempty"`
	// Artifactory accepts JFrog Artifactory "pushed" events of the docker domain (image
	// types docker and oci) whose X-Jfrog-Event-Auth header is the hex HMAC-SHA256 of
	// the body with the secret, as Kargo's artifactory receiver. The Secret may hold the
	// secret under `secret` or under Kargo's key `secret-token`.
	// +optional
	Artifactory *ArtifactoryWebhookProvider `json:"artifactory,omitempty"`
	// Azure accepts Azure Container Registry push events and Azure DevOps git.push
	// service hooks. Neither service signs requests, so the secret is a bearer token, in
	// the URL's ?token= query or the Authorization header ("Bearer <secret>"; Azure
	// DevOps basic authentication with the secret as password also works). ACR ping and
	// Azure DevOps pull-request events are answered and ignored.
	// +optional
	Azure *WebhookProvider `json:"azure,omitempty"`
}

// GenericWebhookProvider configures a generic receiver: its Secret and, optionally,
// Kargo's expression-matched actions.
type GenericWebhookProvider struct {
	// SecretRef names the Secret, in the project namespace (or the cluster secrets
	// namespace for a ClusterConfig receiver), whose `secret` key holds the shared secret.
	// +required
	SecretRef SecretRef `json:"secretRef"`
	// Actions, when set, replace the {"repoURL": ...} format: every action whose
	// whenExpression holds for the request refreshes the resources its
	// targetSelectionCriteria select, and the answer lists each action's result, as in
	// Kargo. At most 20.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Actions []GenericWebhookAction `json:"actions,omitempty"`
}

// GenericWebhookActionType is what a generic receiver action does to what it selects.
// +kubebuilder:validation:Enum=Refresh
type GenericWebhookActionType string

// GenericWebhookActionRefresh refreshes a Warehouse (discovers now) or wakes a
// Promotion (runs its current step again now), by a new haul.dev/refresh value.
const GenericWebhookActionRefresh GenericWebhookActionType = "Refresh"

// GenericWebhookAction is one action of a generic receiver: what to do, when, and to
// which resources. Expressions are expr-lang, over request.body (the JSON body),
// request.header(name), request.headers(name), request.params(name) (the query),
// params (the action's evaluated parameters) and normalizeGit, normalizeImage and
// normalizeChart; `haul apply` type-checks them.
type GenericWebhookAction struct {
	// Action is what is done to every selected resource: Refresh, the one action Kargo has.
	// +required
	Action GenericWebhookActionType `json:"action"`
	// WhenExpression is a boolean expression (bare, without ${{ }}) the request must meet
	// for the action to run, e.g. request.header('X-Event-Type') == 'push'. Empty: always.
	// At most 8192 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	WhenExpression string `json:"whenExpression,omitempty"`
	// Parameters are named values, static or ${{ }} templates over the request, that the
	// action's expressions read as params.<name>. At most 20.
	// +optional
	// +kubebuilder:validation:MaxProperties=20
	Parameters map[string]string `json:"parameters,omitempty"`
	// TargetSelectionCriteria select the resources the action applies to; the action
	// applies to the union of what the criteria select, and each criterion selects the
	// resources of the receiver's project (every project, for a ClusterConfig receiver)
	// that meet all of its name, labelSelector and indexSelector. At most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	TargetSelectionCriteria []GenericWebhookTargetSelectionCriteria `json:"targetSelectionCriteria,omitempty"`
}

// GenericWebhookTargetKind is the kind of resource a generic action selects.
// +kubebuilder:validation:Enum=Warehouse;Promotion
type GenericWebhookTargetKind string

// The kinds a generic action can select.
const (
	GenericWebhookTargetWarehouse GenericWebhookTargetKind = "Warehouse"
	GenericWebhookTargetPromotion GenericWebhookTargetKind = "Promotion"
)

// GenericWebhookTargetSelectionCriteria selects resources of one kind by name, labels
// and/or index values, all of which must match (logical AND), as in Kargo.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) || has(self.labelSelector) || has(self.indexSelector)",message="targetSelectionCriteria[]: at least one of name, labelSelector or indexSelector must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.indexSelector) || self.kind == 'Warehouse'",message="targetSelectionCriteria[].indexSelector: only Warehouses are indexed (by subscribedURLs); select Promotions by name or labels"
type GenericWebhookTargetSelectionCriteria struct {
	// Kind is Warehouse or Promotion. (Kargo's CRD lists only Warehouse today, though
	// its receiver and documentation handle Promotion too.)
	// +required
	Kind GenericWebhookTargetKind `json:"kind"`
	// Name selects the resource of that name: static, or a ${{ }} template over the
	// request that must yield a string. A name that is no object's name (one holding
	// "/", say) selects nothing. At most 1024 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Name string `json:"name,omitempty"`
	// LabelSelector selects by labels; matchLabels values and matchExpressions values
	// may be ${{ }} templates.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// IndexSelector selects Warehouses by the repositories they subscribe to.
	// +optional
	IndexSelector *IndexSelector `json:"indexSelector,omitempty"`
}

// IndexSelector selects resources by values of a well-known index.
type IndexSelector struct {
	// MatchIndices must all hold. At least 1, at most 10.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	MatchIndices []IndexSelectorRequirement `json:"matchIndices"`
}

// IndexSelectorRequirement compares one index of a resource with a value.
//
// +kubebuilder:validation:XValidation:rule="self.key != 'receiverPaths'",message="matchIndices[].key: receiverPaths indexes ProjectConfigs, which a generic action cannot select; use subscribedURLs"
type IndexSelectorRequirement struct {
	// Key is the index: subscribedURLs, the repository URLs a Warehouse subscribes to
	// (compared after normalisation, so any spelling of a URL matches). Kargo's enum
	// also lists receiverPaths, which Haul refuses: it indexes ProjectConfigs.
	// +required
	// +kubebuilder:validation:Enum=subscribedURLs;receiverPaths
	Key string `json:"key"`
	// Operator is Equals (the resource has the value) or NotEquals (it does not).
	// +required
	Operator IndexSelectorOperator `json:"operator"`
	// Value is static or a ${{ }} template over the request that must yield a string,
	// e.g. ${{ normalizeGit(request.body.repository.url) }}. At most 2048 characters.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	Value string `json:"value"`
}

// IndexSelectorOperator compares an index with a value.
// +kubebuilder:validation:Enum=Equals;NotEquals
type IndexSelectorOperator string

// The index operators.
const (
	IndexSelectorEquals    IndexSelectorOperator = "Equals"
	IndexSelectorNotEquals IndexSelectorOperator = "NotEquals"
)

// IndexSubscribedURLs is the index of the repository URLs a Warehouse subscribes to.
const IndexSubscribedURLs = "subscribedURLs"

// ArtifactoryWebhookProvider configures a JFrog Artifactory receiver.
type ArtifactoryWebhookProvider struct {
	// SecretRef names the Secret, in the project namespace, whose `secret` (or Kargo's
	// `secret-token`) key holds the secret Artifactory signs with.
	// +required
	SecretRef SecretRef `json:"secretRef"`
	// VirtualRepoName, when set, replaces the payload's data.repo_key (always a local
	// repository) in the repository URL the receiver infers, for Warehouses that
	// subscribe through an Artifactory virtual repository, as in Kargo. Empty (the
	// default) uses data.repo_key. At most 253 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VirtualRepoName string `json:"virtualRepoName,omitempty"`
}

// Link is a URL template shown in the dashboard next to Freight or Stages.
type Link struct {
	// Name is the link's label in the dashboard, at most 100 characters.
	// +required
	// +kubebuilder:validation:MaxLength=100
	Name string `json:"name"`
	// URL is an http(s) URL template, at most 2048 characters. The dashboard fills
	// {{project}}, and {{freight}} and {{alias}} for Freight links or {{stage}} for
	// Stage links, URL-escaped; a link that does not expand to an http(s) URL is hidden.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
	// Description is shown with the link (as its tooltip), at most 500 characters.
	// Kargo's links have it too.
	// +optional
	// +kubebuilder:validation:MaxLength=500
	Description string `json:"description,omitempty"`
}

// ProjectConfigSpec holds a project's policies.
type ProjectConfigSpec struct {
	// PromotionPolicies are evaluated in order; the first one that selects a Stage
	// decides whether it auto-promotes. At most 100.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	PromotionPolicies []PromotionPolicy `json:"promotionPolicies,omitempty"`
	// ApprovalPolicies require approvals for sets of Stages; the first one that selects
	// a Stage applies, unless the Stage has its own spec.approval. At most 100.
	// Haul-only.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	ApprovalPolicies []ApprovalPolicy `json:"approvalPolicies,omitempty"`
	// WebhookReceivers are endpoints that Git hosts and registries call on a push, so
	// that subscribed Warehouses discover at once instead of at their next interval. At
	// most 20, with unique names.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	WebhookReceivers []WebhookReceiver `json:"webhookReceivers,omitempty"`
	// FreightLinks are shown in the dashboard on every Freight of the project (a CI run,
	// a changelog). At most 20. Kargo also has these; its URLs are expressions.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	FreightLinks []Link `json:"freightLinks,omitempty"`
	// StageLinks are shown in the dashboard on every Stage of the project (a dashboard,
	// the Argo CD application). At most 20. Kargo also has these; its URLs are
	// expressions.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	StageLinks []Link `json:"stageLinks,omitempty"`
	// PromotionWindows gate promotions of the Stages they select in time (Kargo's
	// field): outside an Allow window or inside a Deny window no Promotion starts. At
	// most 50, with unique names.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self.all(w, !has(w.projectSelector))",message="promotionWindows[].projectSelector: only ClusterConfig windows select projects"
	// +listType=map
	// +listMapKey=name
	PromotionWindows []PromotionWindow `json:"promotionWindows,omitempty"`
	// Retention bounds how many terminal Promotions and how much Freight the project
	// keeps; unset fields take the cluster defaults (see docs/retention.md). Haul-only.
	// +optional
	Retention *RetentionPolicy `json:"retention,omitempty"`
}

// WebhookReceiverStatus publishes where a receiver listens.
type WebhookReceiverStatus struct {
	// Name is the receiver's name in spec.webhookReceivers.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Path is the receiver's path on the Haul server, e.g. /webhooks/demo/github.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	Path string `json:"path"`
	// URL is the full address to give the Git host or registry: the server's configured
	// external URL followed by path. Empty when no external URL is configured.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`
}

// ProjectConfigStatus reports the receivers and whether the config is valid.
type ProjectConfigStatus struct {
	// ObservedGeneration is the metadata.generation last reconciled. Not set today.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are reserved for the config's validity; Haul sets none today (invalid
	// selectors select nothing rather than fail).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// WebhookReceivers publishes where each receiver of spec.webhookReceivers listens.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
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
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the project's policies, receivers and dashboard links.
	// +optional
	Spec ProjectConfigSpec `json:"spec,omitzero"`
	// Status is written by the ProjectConfig controller.
	// +optional
	Status ProjectConfigStatus `json:"status,omitzero"`
}

// ProjectConfigList is a list of ProjectConfigs.
//
// +kubebuilder:object:root=true
type ProjectConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ProjectConfigs.
	Items []ProjectConfig `json:"items"`
}

// WebhookReceiverPathPrefix is the URL path under which the Haul server serves every
// webhook receiver: a receiver named R in project P listens at
// WebhookReceiverPathPrefix + P + "/" + R.
const WebhookReceiverPathPrefix = "/webhooks/"

// ClusterWebhookReceiverPathPrefix is where the receivers of the ClusterConfig listen:
// a receiver named R at ClusterWebhookReceiverPathPrefix + R. No project can be named
// "-" (not a DNS label), so the path never collides with a project's receiver.
const ClusterWebhookReceiverPathPrefix = WebhookReceiverPathPrefix + "-/cluster/"
