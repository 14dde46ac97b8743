package project

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// BoundRoles lists the Roles and ClusterRoles that the RoleBindings of project
// namespace ns bind to user or to one of groups: what a wait-for-approval `role`
// rule is matched against. c must be allowed to list the project's RoleBindings.
func BoundRoles(ctx context.Context, c client.Reader, ns, user string, groups []string) ([]string, error) {
	var list rbacv1.RoleBindingList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing role bindings of project %s: %w", ns, err)
	}
	var out []string
	for _, rb := range list.Items {
		for _, sub := range rb.Subjects {
			if (sub.Kind == rbacv1.UserKind && sub.Name == user) || (sub.Kind == rbacv1.GroupKind && slices.Contains(groups, sub.Name)) {
				out = append(out, rb.RoleRef.Name)
				break
			}
		}
	}
	return out, nil
}
