package project

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Role names created in every project namespace.
const (
	RoleViewer   = "haul-viewer"
	RolePromoter = "haul-promoter"
	RoleApprover = "haul-approver"
	RoleAdmin    = "haul-admin"
)

var haulResources = []string{
	"projectconfigs", "warehouses", "freights", "stages", "promotions", "promotiontasks",
	"messagechannels", "eventrouters",
}

// Custom verbs that Haul's REST API checks with a SubjectAccessReview before it writes,
// with its own rights, the annotation or status field the controllers act on. No role
// but haul-admin may patch Haul objects directly, so a promoter cannot change a Stage's
// steps or forge a Freight approval.
const (
	// VerbPromote on stages: create Promotions to the Stage.
	VerbPromote = "promote"
	// VerbApprove on freights: record one's approval of the Freight for a Stage.
	VerbApprove = "approve"
	// VerbRefresh on warehouses or stages: ask for discovery or re-evaluation now.
	VerbRefresh = "refresh"
	// VerbAbort on promotions aborts a running Promotion; on stages it aborts the
	// Stage's running verification.
	VerbAbort = "abort"
	// VerbReverify on stages runs the Stage's verification again.
	VerbReverify = "reverify"
	// VerbPause on stages pauses and resumes the Stage (spec.paused), without the right
	// to update anything else in its spec.
	VerbPause = "pause"
	// VerbOverride on stages lets a Promotion through the Stage's closed promotion
	// windows, with a recorded reason. Only haul-admin holds it (through "*"): a freeze
	// is meant to stop promoters.
	VerbOverride = "override"
)

// RoleRules returns the rules of the four project roles, by role name.
//
//   - haul-viewer reads every Haul object and Event of the project.
//   - haul-approver may also approve Freight, through the REST API: that alone, so a
//     change board can approve without being able to promote.
//   - haul-promoter may also create Promotions and, through the REST API, approve,
//     abort, refresh, reverify and pause: custom verbs only, never patch or update, so
//     Stage specs, Warehouse subscriptions and Freight status stay out of its reach.
//   - haul-admin may do anything with the project's Haul objects, Secrets, ConfigMaps
//     and its roles, including VerbOverride (promoting through closed promotion
//     windows).
//
// Creating a Promotion also needs VerbPromote on its Stage (an admission policy
// enforces it), so that create on promotions alone is not enough.
func RoleRules() map[string][]rbacv1.PolicyRule {
	viewer := []rbacv1.PolicyRule{
		{APIGroups: []string{"haul.dev"}, Resources: haulResources, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
	}
	approver := append(append([]rbacv1.PolicyRule{}, viewer...),
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"freights"}, Verbs: []string{VerbApprove}},
	)
	promoter := append(append([]rbacv1.PolicyRule{}, viewer...),
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"stages"}, Verbs: []string{VerbPromote, VerbRefresh, VerbAbort, VerbReverify, VerbPause}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"freights"}, Verbs: []string{VerbApprove}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"promotions"}, Verbs: []string{"create", VerbAbort}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"warehouses"}, Verbs: []string{VerbRefresh}},
	)
	admin := []rbacv1.PolicyRule{
		{APIGroups: []string{"haul.dev"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "events"}, Verbs: []string{"*"}},
		// Explicit verbs: "*" would include escalate and bind, letting a project admin
		// grant themselves rights they do not hold.
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	}
	return map[string][]rbacv1.PolicyRule{RoleViewer: viewer, RoleApprover: approver, RolePromoter: promoter, RoleAdmin: admin}
}
