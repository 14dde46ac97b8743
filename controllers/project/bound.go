package project

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
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
		if slices.ContainsFunc(rb.Subjects, func(sub rbacv1.Subject) bool { return binds(sub, rb.Namespace, user, groups) }) {
			out = append(out, rb.RoleRef.Name)
		}
	}
	return out, nil
}

// binds says whether a RoleBinding subject in namespace ns names user or one of
// groups, as the API server's authorizer reads it: a ServiceAccount subject is the
// user system:serviceaccount:<namespace>:<name>, its namespace the binding's when
// empty.
func binds(sub rbacv1.Subject, ns, user string, groups []string) bool {
	switch sub.Kind {
	case rbacv1.UserKind:
		return sub.Name == user
	case rbacv1.GroupKind:
		return slices.Contains(groups, sub.Name)
	case rbacv1.ServiceAccountKind:
		saNS := sub.Namespace
		if saNS == "" {
			saNS = ns
		}
		return user == serviceaccount.MakeUsername(saNS, sub.Name)
	}
	return false
}
