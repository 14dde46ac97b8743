package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RetentionPolicy bounds how much Promotion and Freight history a project keeps. The
// retention controller sweeps each project periodically; a field left unset takes the
// cluster default given to the controller (`haul controller --retention-*` flags, the
// chart's `retention` values). A value of 0 keeps everything of that kind.
//
// Whatever the policy says, the sweep never deletes a Promotion that is not terminal or
// that a Stage names (current, last, or in its freight history), nor Freight that a
// Stage holds, that a Promotion in flight references, or that was verified or approved
// within minFreightAge. Before a terminal Promotion is deleted, a compact record of it
// (who promoted which Freight to which Stage, when, and how it ended) is kept in the
// project's promotion history, which `haul get promotions` and the dashboard still show.
type RetentionPolicy struct {
	// PromotionsPerStage is how many terminal Promotions (Succeeded, Failed, Errored,
	// Aborted) to keep per Stage, newest first by their sequence; older ones are
	// deleted after their compact record is archived. 0 keeps all. Unset means the
	// cluster default. Between 0 and 100000.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	PromotionsPerStage *int32 `json:"promotionsPerStage,omitempty"`
	// FreightPerWarehouse is how many of the newest Freight of each Warehouse are always
	// kept; older Freight is deleted once it is also older than minFreightAge and not in
	// use. 0 keeps all Freight. Unset means the cluster default. Between 0 and 100000.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	FreightPerWarehouse *int32 `json:"freightPerWarehouse,omitempty"`
	// MinFreightAge is how old Freight must be (since it was minted) before it may be
	// deleted, and how recently Freight must have been verified or approved in some
	// Stage to be kept as a candidate for promotion, e.g. "168h". Unset means the
	// cluster default; "0s" lets any Freight that is not in use go.
	// +optional
	MinFreightAge *metav1.Duration `json:"minFreightAge,omitempty"`
}

// PromotionRecord is the compact record of a deleted Promotion that the history view
// keeps: who promoted what, where and when, and how it ended.
type PromotionRecord struct {
	// Name is the deleted Promotion's name.
	// +required
	Name string `json:"name"`
	// Stage is the Stage it promoted to.
	// +required
	Stage string `json:"stage"`
	// Freight is the name of the Freight it promoted.
	// +required
	Freight string `json:"freight"`
	// FreightAlias is that Freight's alias when the Promotion ran.
	// +optional
	FreightAlias string `json:"freightAlias,omitempty"`
	// Phase is the terminal phase it ended in.
	// +required
	Phase PromotionPhase `json:"phase"`
	// Message is its final status message, cut to 512 bytes.
	// +optional
	Message string `json:"message,omitempty"`
	// Actor is who asked for it (the haul.dev/create-actor annotation).
	// +optional
	Actor string `json:"actor,omitempty"`
	// CreatedAt is when the Promotion was created.
	// +required
	CreatedAt metav1.Time `json:"createdAt"`
	// StartedAt is when it took the Stage's lock.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when it reached its terminal phase.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Sequence is its place in the Stage's order of Promotions.
	// +optional
	Sequence int64 `json:"sequence,omitempty"`
}

// Promotion history is kept, per Stage, in a ConfigMap of the project namespace named
// PromotionHistoryPrefix + the Stage's name and labelled LabelPromotionHistory=<stage>;
// its PromotionHistoryKey holds a JSON list of PromotionRecord, newest first, at most
// PromotionHistoryMax records.
const (
	// PromotionHistoryPrefix starts the name of a Stage's promotion-history ConfigMap.
	PromotionHistoryPrefix = "haul-promotion-history."
	// LabelPromotionHistory marks a promotion-history ConfigMap, with the Stage as value.
	LabelPromotionHistory = "haul.dev/promotion-history"
	// PromotionHistoryKey is the ConfigMap data key holding the records.
	PromotionHistoryKey = "promotions.json"
	// PromotionHistoryMax bounds the records kept per Stage.
	PromotionHistoryMax = 2000
	// PromotionHistoryMaxBytes bounds the encoded records kept per Stage, below the
	// 1 MiB a ConfigMap holds: long failure messages make a record up to ~1 KiB, so the
	// oldest records beyond this size are dropped even under PromotionHistoryMax.
	PromotionHistoryMaxBytes = 768 << 10
	// AnnotationArchived marks a Promotion rebuilt from a PromotionRecord for display;
	// it no longer exists in the API.
	AnnotationArchived = "haul.dev/archived"
)

// ReasonRetentionSweep (event on a Project): a retention sweep deleted Promotions or
// Freight; the message counts them and names the effective policy.
const ReasonRetentionSweep = "RetentionSweep"
