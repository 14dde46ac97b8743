package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Notification and auto-rollback types. Kargo ships MessageChannel,
// ClusterMessageChannel and EventRouter (with the same field names) in its paid
// platform only; ClusterEventRouter is Haul's.

// EventType names a promotion or verification event that an EventRouter can route.
// Kargo's names, plus Haul's PromotionStarted, PromotionWaitingForApproval and
// AutoRollbackCreated.
// +kubebuilder:validation:Enum=PromotionCreated;PromotionStarted;PromotionSucceeded;PromotionFailed;PromotionErrored;PromotionAborted;PromotionWaitingForApproval;FreightVerificationSucceeded;FreightVerificationFailed;FreightVerificationErrored;AutoRollbackCreated
type EventType string

// The event types Haul emits.
const (
	// EventPromotionCreated: a Promotion was created (Kargo's name).
	EventPromotionCreated EventType = "PromotionCreated"
	// EventPromotionStarted: a Promotion took its Stage's lock and began its steps.
	EventPromotionStarted EventType = "PromotionStarted"
	// EventPromotionSucceeded: every step of a Promotion succeeded.
	EventPromotionSucceeded EventType = "PromotionSucceeded"
	// EventPromotionFailed: a step of a Promotion failed.
	EventPromotionFailed EventType = "PromotionFailed"
	// EventPromotionErrored: a Promotion could not run.
	EventPromotionErrored EventType = "PromotionErrored"
	// EventPromotionAborted: a Promotion was aborted.
	EventPromotionAborted EventType = "PromotionAborted"
	// EventPromotionWaitingForApproval: a Promotion waits for approvals.
	EventPromotionWaitingForApproval EventType = "PromotionWaitingForApproval"
	// EventVerificationSucceeded: a verification run of a Stage's Freight passed.
	EventVerificationSucceeded EventType = "FreightVerificationSucceeded"
	// EventVerificationFailed: a verification run of a Stage's Freight failed.
	EventVerificationFailed EventType = "FreightVerificationFailed"
	// EventVerificationErrored: a verification run of a Stage's Freight could not run.
	EventVerificationErrored EventType = "FreightVerificationErrored"
	// EventAutoRollbackCreated: a failed verification made Haul promote the Stage's
	// previous verified Freight.
	EventAutoRollbackCreated EventType = "AutoRollbackCreated"
)

// SlackChannel posts to a Slack-compatible incoming webhook. The channel's Secret
// holds the webhook URL under the key `webhookURL`.
type SlackChannel struct {
	// ChannelID overrides the webhook's default channel (sent as `channel`), at most 255
	// characters. Empty keeps the webhook's own channel.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	ChannelID string `json:"channelID,omitempty"`
}

// TeamsChannel posts an Adaptive Card to a Microsoft Teams incoming webhook (a
// Workflows "post to a channel when a webhook request is received" URL, or a legacy
// connector). The channel's Secret holds the URL under the key `webhookURL`.
type TeamsChannel struct {
	// Title is shown in bold above every message, at most 255 characters. Empty shows
	// none.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Title string `json:"title,omitempty"`
}

// HTTPHeader is one header sent with every request of an HTTP channel.
type HTTPHeader struct {
	// Name is the header's name, 1 to 256 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// Value is the header's value, at most 4096 characters. Put credentials in the
	// Secret (bearerToken, authorization), not here.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// HTTPChannel sends a generic JSON webhook. When the channel's Secret has the key
// `hmacKey`, every request carries X-Haul-Signature: sha256=<hex HMAC-SHA256 of
// the body>; `bearerToken` or `authorization` set the Authorization header.
type HTTPChannel struct {
	// URL is the http(s) endpoint, 1 to 2048 characters. As in Kargo, it is in the
	// spec: a receiver that needs a secret in its URL should check the signature instead.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`
	// Method is POST (the default) or PUT.
	// +optional
	// +default="POST"
	// +kubebuilder:validation:Enum=POST;PUT
	Method string `json:"method,omitempty"`
	// Headers are sent with every request, at most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Headers []HTTPHeader `json:"headers,omitempty"`
	// Timeout bounds one request; a Go duration, default 10s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// SMTPChannel sends e-mail. The channel's Secret may hold `username` and `password`
// for SMTP AUTH PLAIN; Haul refuses to send them over a connection without TLS unless
// the server is on the loopback interface.
type SMTPChannel struct {
	// From is the sender address, 1 to 320 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=320
	From string `json:"from"`
	// To are the default recipients, at most 50 of at most 320 characters; a
	// send-message step or a router's output may name others.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=320
	// +listType=atomic
	To []string `json:"to,omitempty"`
	// Host is the SMTP server's host name or address, 1 to 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// Port is the SMTP server's port, 1 to 65535.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// UseTLS requires TLS: implicit TLS on port 465, STARTTLS elsewhere. Default true.
	// +optional
	// +default=true
	UseTLS *bool `json:"useTLS,omitempty"`
	// InsecureSkipVerify accepts any server certificate. Default false; for tests.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// MessageChannelSpec says where and how messages are sent: exactly one of slack,
// teams, http and smtp.
//
// +kubebuilder:validation:XValidation:rule="[has(self.slack), has(self.teams), has(self.http), has(self.smtp)].filter(x, x).size() == 1",message="spec: exactly one of slack, teams, http or smtp must be set"
type MessageChannelSpec struct {
	// SecretRef names the Secret with the channel's credentials: in the project
	// namespace for a MessageChannel, in the cluster secrets namespace (the shared
	// credentials namespace) for a ClusterMessageChannel. Required for slack and teams.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
	// Slack posts to a Slack-compatible incoming webhook.
	// +optional
	Slack *SlackChannel `json:"slack,omitempty"`
	// Teams posts to a Microsoft Teams incoming webhook. Haul-only.
	// +optional
	Teams *TeamsChannel `json:"teams,omitempty"`
	// HTTP sends a JSON webhook, signed with HMAC when the Secret has hmacKey.
	// +optional
	HTTP *HTTPChannel `json:"http,omitempty"`
	// SMTP sends e-mail.
	// +optional
	SMTP *SMTPChannel `json:"smtp,omitempty"`
}

// DeliveryOutcome is how one message delivery ended.
// +kubebuilder:validation:Enum=Delivered;Failed
type DeliveryOutcome string

const (
	// DeliveryDelivered means the receiver accepted the message.
	DeliveryDelivered DeliveryOutcome = "Delivered"
	// DeliveryFailed means every attempt failed; the message was dropped.
	DeliveryFailed DeliveryOutcome = "Failed"
)

// MessageDelivery records one delivery to a channel.
type MessageDelivery struct {
	// Event is what was delivered: an event type, or "send-message" for a step.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Event string `json:"event,omitempty"`
	// Subject names the object the event is about (<kind>/<namespace>/<name>).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Subject string `json:"subject,omitempty"`
	// Router is the (Cluster)EventRouter that routed it, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Router string `json:"router,omitempty"`
	// Outcome is Delivered or Failed.
	// +required
	Outcome DeliveryOutcome `json:"outcome"`
	// Attempts is how many times sending was tried, 1 or more.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// Time is when the delivery ended.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// Message says what the receiver answered, or why the last attempt failed; never
	// a secret.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`
}

// MessageChannelStatus reports recent deliveries; written by the notification
// controller only.
type MessageChannelStatus struct {
	// LastDelivery is the most recent delivery, whatever its outcome.
	// +optional
	LastDelivery *MessageDelivery `json:"lastDelivery,omitempty"`
	// LastFailure is the most recent failed delivery.
	// +optional
	LastFailure *MessageDelivery `json:"lastFailure,omitempty"`
	// Delivered counts messages delivered since the channel was created.
	// +optional
	Delivered int64 `json:"delivered,omitempty"`
	// Failed counts messages dropped after every attempt failed.
	// +optional
	Failed int64 `json:"failed,omitempty"`
}

// MessageChannel is a destination for messages in one project: a Slack or Teams
// webhook, a generic JSON webhook or an SMTP server.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=mc
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Last",type=string,JSONPath=`.status.lastDelivery.outcome`
// +kubebuilder:printcolumn:name="Delivered",type=integer,JSONPath=`.status.delivered`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MessageChannel struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says where messages go.
	// +required
	Spec MessageChannelSpec `json:"spec"` //nolint:kubeapilinter // required: a channel is nothing without its spec (its one-of rule needs a member)
	// Status reports deliveries.
	// +optional
	Status MessageChannelStatus `json:"status,omitzero"`
}

// MessageChannelList is a list of MessageChannels.
//
// +kubebuilder:object:root=true
type MessageChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the MessageChannels.
	Items []MessageChannel `json:"items"`
}

// ClusterMessageChannel is a MessageChannel every project may use; its Secret is in
// the cluster secrets namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul,shortName=cmc
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Last",type=string,JSONPath=`.status.lastDelivery.outcome`
// +kubebuilder:printcolumn:name="Delivered",type=integer,JSONPath=`.status.delivered`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterMessageChannel struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says where messages go.
	// +required
	Spec MessageChannelSpec `json:"spec"` //nolint:kubeapilinter // required: a channel is nothing without its spec (its one-of rule needs a member)
	// Status reports deliveries.
	// +optional
	Status MessageChannelStatus `json:"status,omitzero"`
}

// ClusterMessageChannelList is a list of ClusterMessageChannels.
//
// +kubebuilder:object:root=true
type ClusterMessageChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterMessageChannels.
	Items []ClusterMessageChannel `json:"items"`
}

// ChannelKind is the kind of a referenced channel.
// +kubebuilder:validation:Enum=MessageChannel;ClusterMessageChannel
type ChannelKind string

const (
	// ChannelKindNamespaced is a MessageChannel in the project namespace.
	ChannelKindNamespaced ChannelKind = "MessageChannel"
	// ChannelKindCluster is a ClusterMessageChannel.
	ChannelKindCluster ChannelKind = "ClusterMessageChannel"
)

// EncodingType says how a rendered output is read: empty (plain text, the message
// itself), json or yaml (a structured body whose keys depend on the channel, as in
// Kargo: slack text/blocks/channel, smtp subject/body/to/html, http body/headers).
// +kubebuilder:validation:Enum="";json;yaml
type EncodingType string

// EventRouterChannel is one destination of a router.
type EventRouterChannel struct {
	// Kind is MessageChannel (default; in the router's namespace) or
	// ClusterMessageChannel.
	// +optional
	// +default="MessageChannel"
	Kind ChannelKind `json:"kind,omitempty"`
	// Name is the channel's name, 1 to 253 characters of a Kubernetes object name; never
	// namespace/name (a router uses its own namespace's channels and the cluster's).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Output overrides the router's output for this channel; a template with
	// ${{ expressions }} over type, event and data. At most 64 KiB.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Output string `json:"output,omitempty"`
	// EncodingType says how this channel's output is read (see EncodingType).
	// +optional
	EncodingType EncodingType `json:"encodingType,omitempty"`
}

// EventRouterSpec selects events and sends a rendered message for each to channels.
type EventRouterSpec struct {
	// Types are the event types routed, 1 to 20.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=set
	Types []EventType `json:"types"`
	// Channels receive every routed event, 1 to 20.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Channels []EventRouterChannel `json:"channels"`
	// When is an expr-lang boolean expression over type, event and data (e.g.
	// `event.stageName == 'prod'`); empty routes every event of the types. At most
	// 4096 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	When string `json:"when,omitempty"`
	// Output is the message template, with ${{ expressions }} over type, event and
	// data; empty uses Haul's default text for the event. At most 64 KiB.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Output string `json:"output,omitempty"`
	// EncodingType says how output is read (see EncodingType).
	// +optional
	EncodingType EncodingType `json:"encodingType,omitempty"`
}

// EventRouter routes a project's promotion and verification events to channels.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=haul,shortName=er
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EventRouter struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which events go where.
	// +required
	Spec EventRouterSpec `json:"spec"`
}

// EventRouterList is a list of EventRouters.
//
// +kubebuilder:object:root=true
type EventRouterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the EventRouters.
	Items []EventRouter `json:"items"`
}

// ClusterEventRouter routes events of every project to ClusterMessageChannels (use
// `when` with event.project to pick projects). Haul-only.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=haul,shortName=cer
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.spec.channels.all(c, has(c.kind) && c.kind == 'ClusterMessageChannel')",message="spec.channels[].kind: a ClusterEventRouter sends only to ClusterMessageChannels"
type ClusterEventRouter struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which events go where.
	// +required
	Spec EventRouterSpec `json:"spec"`
}

// ClusterEventRouterList is a list of ClusterEventRouters.
//
// +kubebuilder:object:root=true
type ClusterEventRouterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterEventRouters.
	Items []ClusterEventRouter `json:"items"`
}
