package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PromotionWindowKind says whether a window lets promotions through or holds them.
//
// +kubebuilder:validation:Enum=Allow;Deny
type PromotionWindowKind string

const (
	// PromotionWindowAllow windows open the schedule while active. When any Allow window
	// selects a Stage, the Stage may be promoted only while one of them is active.
	PromotionWindowAllow PromotionWindowKind = "Allow"
	// PromotionWindowDeny windows close the schedule while active, whatever the Allow
	// windows say.
	PromotionWindowDeny PromotionWindowKind = "Deny"
)

// PromotionWindow is a recurring or one-shot time window that gates every promotion
// (automatic, manual and rollback) of the Stages it selects, in Kargo's shape. A
// Stage's schedule is open when no selected Deny window is active and, if any Allow
// window selects it, at least one of those is active.
type PromotionWindow struct {
	// Name identifies the window in messages and status, a DNS subdomain of at most 253
	// characters, unique in its list.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Kind is Allow (promotions only while active) or Deny (no promotions while active).
	// +required
	Kind PromotionWindowKind `json:"kind"`
	// StageSelector picks the Stages the window applies to (exact name, `glob:`,
	// `regex:`, labels, as promotionPolicies); omitted selects every Stage in scope.
	// +optional
	StageSelector *StageSelector `json:"stageSelector,omitempty"`
	// ProjectSelector picks the projects a ClusterConfig window applies to, by name
	// (exact, `glob:`, `regex:`) and the Project's labels; omitted selects every
	// project. Refused on ProjectConfig windows, whose project is their own.
	// +optional
	ProjectSelector *StageSelector `json:"projectSelector,omitempty"`
	// RRule is an RFC 5545 recurrence rule without DTSTART, e.g.
	// `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH`, making the window recur from dtstart. Omitted
	// makes it one interval, dtstart to dtend. At most 1024 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	RRule string `json:"rrule,omitempty"`
	// DTStart is the (first) start, an iCal date-time with an optional time zone:
	// `TZID=Europe/Berlin:20260101T090000`, `20260101T090000Z` (UTC) or
	// `20260101T090000` (UTC). Recurrences keep its wall-clock time in its zone across
	// daylight-saving changes. At most 128 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DTStart string `json:"dtstart"`
	// DTEnd is the (first) end, in dtstart's format and after it; dtend - dtstart is
	// the length of every occurrence. At most 128 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DTEnd string `json:"dtend"`
}

// PromotionWindowStatus is the evaluated schedule of the windows that select a Stage,
// as Kargo reports it. It is advisory, as current as the Stage's last reconcile: the
// Promotion controller and the API decide with the clock of the moment.
type PromotionWindowStatus struct {
	// Closed says the schedule forbids promoting the Stage now.
	// +required
	Closed bool `json:"closed"` //nolint:kubeapilinter // Kargo's field; false is meaningful and must be written
	// Reason says why it is closed, naming the deciding window, e.g. "promotion window
	// closed until 2026-01-05T08:00:00Z (window business-hours)".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
	// Window is the window that decides the current state: the active Deny window, or
	// the Allow window that opens next (closed), or the active Allow window (open).
	// Haul-only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Window string `json:"window,omitempty"`
	// NextOpen is when the schedule opens next, while closed; absent when no opening is
	// known (within a year).
	// +optional
	NextOpen *metav1.Time `json:"nextOpen,omitempty"`
	// NextClose is when the schedule closes next, while open; absent when none is
	// known (within a year).
	// +optional
	NextClose *metav1.Time `json:"nextClose,omitempty"`
	// NextCloseReason names the window that closes it at nextClose.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	NextCloseReason string `json:"nextCloseReason,omitempty"`
}
