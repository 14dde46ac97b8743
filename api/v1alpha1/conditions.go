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
// names what a human should look at. An event's reason equals the reason of the
// condition it reports.
const (
	// ReasonReconciled (Ready=True on a Project or Stage): everything the object asks
	// for is in place.
	ReasonReconciled = "Reconciled"

	// ReasonNamespaceCreated (event on a Project): its namespace was created.
	ReasonNamespaceCreated = "NamespaceCreated"
	// ReasonNamespaceNotOwned (Ready=False on a Project): a namespace of the same name
	// exists without the haul.dev/project label, so Haul will not adopt it.
	ReasonNamespaceNotOwned = "NamespaceNotOwned"
	// ReasonNamespaceTerminating (Ready=False on a Project): its namespace is being
	// deleted.
	ReasonNamespaceTerminating = "NamespaceTerminating"

	// ReasonDiscoveryFailed (Ready and Healthy=False on a Warehouse): a subscription's
	// repository could not be read; the message names it. Also a Warning event on the
	// Warehouse each time discovery starts failing or fails differently.
	ReasonDiscoveryFailed = "DiscoveryFailed"
	// ReasonDiscoverySucceeded (Ready and Healthy=True on a Warehouse): every
	// subscription answered.
	ReasonDiscoverySucceeded = "DiscoverySucceeded"
	// ReasonRateLimited (Ready=False on a Warehouse): a registry answered 429; discovery
	// waits as long as it asked.
	ReasonRateLimited = "RateLimited"
	// ReasonWaitingForRateLimit (Reconciling=True on a Warehouse): the host is paused
	// after a 429 answered to another request, often another Warehouse's; nothing was
	// asked this time.
	ReasonWaitingForRateLimit = "WaitingForRateLimit"
	// ReasonInvalidConstraint (Ready=False and Stalled on a Warehouse): a constraint,
	// regex, platform or expression of the spec does not parse; fix the named field.
	ReasonInvalidConstraint = "InvalidConstraint"
	// ReasonFreightCreated (event on a Warehouse): discovery minted new Freight.
	ReasonFreightCreated = "FreightCreated"

	// ReasonCycleDetected (Ready=False and Stalled on a Stage): its upstream stages lead
	// back to it; fix requestedFreight[].sources.stages.
	ReasonCycleDetected = "CycleDetected"
	// ReasonNoFreight (Healthy and Verified=Unknown on a Stage): it holds no Freight yet.
	ReasonNoFreight = "NoFreight"
	// ReasonFreightNotAvailable: the Freight asked for is not available to the Stage
	// (not verified upstream, soaking, or not approved). Reserved; Promotions report
	// this in their message today.
	ReasonFreightNotAvailable = "FreightNotAvailable"
	// ReasonAutoPromotionCreated (event on a Stage): auto-promotion created a Promotion.
	ReasonAutoPromotionCreated = "AutoPromotionCreated"
	// ReasonAutoRollbackCreated (event on a Stage): a failure made the Stage controller
	// create a Promotion back to the Stage's stable Freight.
	ReasonAutoRollbackCreated = "AutoRollbackCreated"

	// ReasonPromotionRunning (Promoting=True on a Stage): a Promotion holds the Stage.
	ReasonPromotionRunning = "PromotionRunning"
	// ReasonNotPromoting (Promoting=False on a Stage): no Promotion is running.
	ReasonNotPromoting = "NotPromoting"
	// ReasonPromotionSucceeded (event on a Promotion; Ready on its Stage): every step
	// succeeded.
	ReasonPromotionSucceeded = "PromotionSucceeded"
	// ReasonPromotionFailed (Warning event on a Promotion; Ready=False on its Stage): a
	// step failed; the message names it.
	ReasonPromotionFailed = "PromotionFailed"
	// ReasonPromotionErrored (Warning event on a Promotion; Ready=False on its Stage):
	// a step or the Promotion could not run.
	ReasonPromotionErrored = "PromotionErrored"
	// ReasonPromotionAborted (event on a Promotion; Ready=False on its Stage): the
	// haul.dev/abort annotation stopped it.
	ReasonPromotionAborted = "PromotionAborted"
	// ReasonPromotionWindowOverridden (Warning event on a Promotion): it started while
	// its Stage's promotion windows were closed, let through by haul.dev/window-override.
	ReasonPromotionWindowOverridden = "PromotionWindowOverridden"

	// ReasonHealthy (Healthy=True on a Stage): every health check passes.
	ReasonHealthy = "Healthy"
	// ReasonUnhealthy (Healthy=False on a Stage; Verified=False while verification
	// waits): a health check failed; the message lists the issues.
	ReasonUnhealthy = "Unhealthy"
	// ReasonNoHealthChecks (Healthy=True on a Stage): the current Freight's Promotion
	// left nothing to check.
	ReasonNoHealthChecks = "NoHealthChecks"
	// ReasonControlFlow (Healthy and Verified=True on a Stage): the Stage has no steps;
	// it only routes Freight, which counts as verified once available.
	ReasonControlFlow = "ControlFlow"
	// ReasonWaitingForHealth (Verified=Unknown on a Stage): verification waits for the
	// Stage to become healthy.
	ReasonWaitingForHealth = "WaitingForHealth"

	// ReasonVerificationRunning (Verified=Unknown on a Stage, and its event): a
	// verification run started or is in progress.
	ReasonVerificationRunning = "VerificationRunning"
	// ReasonVerificationPassed (Verified=True on a Stage; event on the Freight): the
	// current Freight passed verification, or there was none to run.
	ReasonVerificationPassed = "VerificationPassed"
	// ReasonVerificationSucceeded (event on a Stage): a verification run succeeded.
	ReasonVerificationSucceeded = "Verification" + string(VerificationSucceeded)
	// ReasonVerificationFailed (Verified=False on a Stage, and its event): a
	// verification run failed.
	ReasonVerificationFailed = "Verification" + string(VerificationFailed)
	// ReasonVerificationErrored (Verified=False on a Stage, and its event): a
	// verification run could not run, or its AnalysisRun ended in Error.
	ReasonVerificationErrored = "Verification" + string(VerificationErrored)
	// ReasonVerificationAborted (Verified=False on a Stage, and its event): the
	// haul.dev/abort annotation stopped a verification run.
	ReasonVerificationAborted = "Verification" + string(VerificationAborted)
	// ReasonVerificationInconclusive (Verified=False on a Stage, and its event): the
	// AnalysisRun ended Inconclusive.
	ReasonVerificationInconclusive = "Verification" + string(VerificationInconclusive)
)
