package project

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Role names created in every project namespace.
const (
	RoleViewer   = "haul-viewer"
	RolePromoter = "haul-promoter"
	RoleAdmin    = "haul-admin"
)

var haulResources = []string{
	"projectconfigs", "warehouses", "freights", "stages", "promotions", "promotiontasks",
}

// RoleRules returns the rules of the three project roles, by role name. Promoting and
// approving need the custom verb "promote" on stages, so that create on promotions alone
// is not enough.
func RoleRules() map[string][]rbacv1.PolicyRule {
	viewer := []rbacv1.PolicyRule{
		{APIGroups: []string{"haul.dev"}, Resources: haulResources, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
	}
	promoter := append(append([]rbacv1.PolicyRule{}, viewer...),
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"stages"}, Verbs: []string{"promote", "patch"}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"promotions"}, Verbs: []string{"create", "patch"}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"freights", "freights/status"}, Verbs: []string{"patch", "update"}},
		rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"warehouses"}, Verbs: []string{"patch"}},
	)
	admin := []rbacv1.PolicyRule{
		{APIGroups: []string{"haul.dev"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "events"}, Verbs: []string{"*"}},
		// Explicit verbs: "*" would include escalate and bind, letting a project admin
		// grant themselves rights they do not hold.
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	}
	return map[string][]rbacv1.PolicyRule{RoleViewer: viewer, RolePromoter: promoter, RoleAdmin: admin}
}
