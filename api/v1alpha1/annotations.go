package v1alpha1

// Labels Haul sets or reads, all under haul.dev/.
const (
	// LabelProject marks a namespace as owned by the Haul Project of the same name;
	// a namespace without it is never adopted.
	LabelProject = "haul.dev/project"
	// LabelAlias mirrors Freight.alias so Freight can be selected by alias.
	LabelAlias = "haul.dev/alias"
	// LabelCredType marks a Secret as a credential: git, image, helm or generic.
	LabelCredType = "haul.dev/cred-type"
	// LabelStage on Promotions (and on the job step's Jobs) names the Stage, so they
	// can be listed by Stage.
	LabelStage = "haul.dev/stage"
	// LabelFreight on Promotions names the Freight, so they can be listed by Freight.
	LabelFreight = "haul.dev/freight"
	// LabelPromotionLock marks the Leases that are Stage promotion locks.
	LabelPromotionLock = "haul.dev/promotion-lock"
	// LabelJobStep marks Jobs made by the job step, with the Stage as value.
	LabelJobStep = "haul.dev/job-step"
	// LabelShard on a Warehouse, Stage, Freight or Promotion names the controller shard
	// (`haul controller --shard NAME`) that reconciles it; without it the default
	// controller does. Freight and Promotions inherit it from their Warehouse and Stage.
	LabelShard = "haul.dev/shard"
)

// Annotations Haul sets or reads. The action annotations (refresh, abort, reverify)
// act when their value changes; the controller records the last value it handled in
// status, so setting the same value again does nothing.
const (
	// AnnotationRefresh set to a new value forces a Warehouse discovery or Stage
	// re-evaluation; on a Running Promotion it runs its current step again at once (the
	// webhook receivers set it when a pull request the step waits on is merged or closed).
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
	// AnnotationActionActor records, next to an action annotation the Haul server
	// wrote, who asked for it ("api:<user>"): the write itself is made with the
	// server's rights.
	AnnotationActionActor = "haul.dev/action-actor"
	// AnnotationAutoPromotionCandidate records, on a manual Promotion, what
	// auto-promotion would have picked when the Stage controller first saw it ("none"
	// if nothing). Written once, so later Freight cannot change whether that Promotion
	// was a rollback or a pin.
	AnnotationAutoPromotionCandidate = "haul.dev/auto-promotion-candidate"
	// AnnotationPromotion names the Promotion that made an object: a job step's Job,
	// or (as Argo CD operation info) a sync operation Haul started, so a replayed step
	// recognises its own work.
	AnnotationPromotion = "haul.dev/promotion"
	// AnnotationRollback ("true") marks a Promotion the Stage controller created to roll
	// the Stage back to its stable Freight. Steps see it as ctx.meta.promotion.rollback,
	// which is true only when the Promotion's create-actor is also auto-rollback (an
	// actor users cannot claim), so the annotation alone cannot skip a step.
	AnnotationRollback = "haul.dev/rollback"
	// AnnotationApprovalResponses on a Promotion holds the answers given to its
	// wait-for-approval steps: a JSON list of {step, user, action, time, message,
	// rules}. Only the Haul server and the CLI (as the kubeconfig's identity) write it,
	// after checking the responder against the step's approvers.
	AnnotationApprovalResponses = "haul.dev/approval-responses"
	// AnnotationStep names, on a job step's Job, the alias of the step that made it.
	AnnotationStep = "haul.dev/step"
)

// FinalizerProject lets the Project controller remove the project's namespace before
// the Project goes.
const FinalizerProject = "haul.dev/project"

// AnnotationWindowOverride on a Promotion lets it through closed promotion windows and
// records who let it and why: "<actor>: <reason>", e.g. "api:alice: hotfix for INC-42".
// The Haul server writes it for a caller with the override verb on the Stage who gave a
// reason; the admission policy haul-window-override refuses it from anybody else.
const AnnotationWindowOverride = "haul.dev/window-override"
