package v1alpha1

// Condition types used across Haul resources. Ready always summarises the others.
const (
	// ConditionReady says whether the object is fully reconciled and usable.
	ConditionReady = "Ready"
	// ConditionHealthy says whether what the object watches (registries, Applications) is healthy.
	ConditionHealthy = "Healthy"
	// ConditionPromoting is True on a Stage while a Promotion runs for it.
	ConditionPromoting = "Promoting"
	// ConditionVerified says whether the Stage's current Freight passed verification.
	ConditionVerified = "Verified"
	// ConditionReconciling is True while the controller works towards the desired
	// state or waits on something outside the object (a registry's rate-limit pause, a
	// running Promotion) and expects to get there without help; Ready keeps the last
	// real result meanwhile. It is removed once the object is reconciled (kstatus).
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot make progress until someone
	// changes the object or what it refers to (an invalid constraint, a missing
	// credential, a cycle); it does not retry on a timer. Removed once progress resumes.
	ConditionStalled = "Stalled"
)

// Reasons for Reconciling and Stalled, set by the shared reconcile summary
// (pkg/reconcile) when a sub-reconciler gives no more specific one.
const (
	// ReasonProgressing: the controller is working and will report again shortly.
	ReasonProgressing = "Progressing"
	// ReasonRetrying: the last attempt failed with an error that may pass; the
	// controller retries with backoff.
	ReasonRetrying = "Retrying"
	// ReasonInvalidSpec: the object's spec cannot be acted on as written.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonReconcileError: a Project's namespace or roles could not be written; the
	// message holds the API server's answer and the controller retries.
	ReasonReconcileError = "ReconcileError"
	// ReasonReconcilePanic: reconciling the object panicked (a bug in Haul); the
	// message and an Event hold the panic, and the controller retries after its
	// interval rather than in a crash loop.
	ReasonReconcilePanic = "ReconcilePanic"
)

// Reasons for conditions and the events that mirror them. CamelCase, and each one
// names what a human should look at.
const (
	ReasonReconciled           = "Reconciled"
	ReasonNamespaceCreated     = "NamespaceCreated"
	ReasonNamespaceNotOwned    = "NamespaceNotOwned"
	ReasonNamespaceTerminating = "NamespaceTerminating"
	ReasonDiscoveryFailed      = "DiscoveryFailed"
	ReasonDiscoverySucceeded   = "DiscoverySucceeded"
	ReasonRateLimited          = "RateLimited"
	ReasonInvalidConstraint    = "InvalidConstraint"
	ReasonFreightCreated       = "FreightCreated"
	ReasonCycleDetected        = "CycleDetected"
	ReasonPromotionRunning     = "PromotionRunning"
	ReasonPromotionSucceeded   = "PromotionSucceeded"
	ReasonPromotionFailed      = "PromotionFailed"
	ReasonPromotionErrored     = "PromotionErrored"
	ReasonPromotionAborted     = "PromotionAborted"
	ReasonFreightNotAvailable  = "FreightNotAvailable"
	ReasonVerificationPassed   = "VerificationPassed"
	ReasonVerificationFailed   = "VerificationFailed"
	ReasonVerificationRunning  = "VerificationRunning"
	ReasonWaitingForHealth     = "WaitingForHealth"
	ReasonNoFreight            = "NoFreight"
)

// Well-known labels and annotations.
const (
	// LabelProject marks a namespace as owned by a Haul Project.
	LabelProject = "haul.dev/project"
	// LabelAlias mirrors Freight.alias so Freight can be selected by alias.
	LabelAlias = "haul.dev/alias"
	// LabelCredType marks a Secret as a credential: git, image, helm or generic.
	LabelCredType = "haul.dev/cred-type"
	// LabelStage and LabelFreight on Promotions allow listing by stage or freight.
	LabelStage   = "haul.dev/stage"
	LabelFreight = "haul.dev/freight"
	// AnnotationRefresh set to a new value forces a Warehouse discovery or Stage re-evaluation.
	AnnotationRefresh = "haul.dev/refresh"
	// AnnotationAbort on a Promotion aborts it; on a Stage it aborts the running verification.
	AnnotationAbort = "haul.dev/abort"
	// AnnotationReverify on a Stage re-runs verification of its current Freight.
	AnnotationReverify = "haul.dev/reverify"
	// AnnotationKeepNamespace on a Project keeps its namespace when the Project is deleted.
	AnnotationKeepNamespace = "haul.dev/keep-namespace"
	// AnnotationAuthorizedStage on an Argo CD Application names the "<project>:<stage>"
	// allowed to change it.
	AnnotationAuthorizedStage = "haul.dev/authorized-stage"
	// AnnotationKargoAuthorizedStage is Kargo's equivalent, honoured for migrating users.
	AnnotationKargoAuthorizedStage = "kargo.akuity.io/authorized-stage"
	// AnnotationCreatedAt on Freight and Promotions records when it was made, to the
	// nanosecond, so objects made within one second (creationTimestamp's resolution)
	// still order.
	AnnotationCreatedAt = "haul.dev/created-at"
	// AnnotationCreateActor records who asked for a Promotion (user, "auto-promotion", ...).
	AnnotationCreateActor = "haul.dev/create-actor"
)

// ReasonWaitingForRateLimit (on Reconciling): the host is paused after a 429 answered
// to another request, often another Warehouse's; nothing was asked this time.
const ReasonWaitingForRateLimit = "WaitingForRateLimit"
