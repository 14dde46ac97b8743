package project

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestBindsReadsSubjectsAsTheAuthorizer: a wait-for-approval role rule must match the
// identities the API server would grant that role to, and no others: users, groups,
// and ServiceAccounts (system:serviceaccount:<ns>:<name>, the binding's namespace
// when the subject has none) — a CI job's token bound to haul-promoter is a promoter.
func TestBindsReadsSubjectsAsTheAuthorizer(t *testing.T) {
	sa := func(ns, name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	for _, tt := range []struct {
		name   string
		sub    rbacv1.Subject
		user   string
		groups []string
		want   bool
	}{
		{"user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}, "alice", nil, true},
		{"another user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}, "bob", nil, false},
		{"group", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "sre"}, "bob", []string{"dev", "sre"}, true},
		{"a user named as the group", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "sre"}, "sre", nil, false},
		{"service account", sa("shop", "ci"), "system:serviceaccount:shop:ci", nil, true},
		{"service account in the binding's namespace", sa("", "ci"), "system:serviceaccount:shop:ci", nil, true},
		{"service account of another namespace", sa("other", "ci"), "system:serviceaccount:shop:ci", nil, false},
		{"a user named as the service account", sa("shop", "ci"), "ci", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := binds(tt.sub, "shop", tt.user, tt.groups); got != tt.want {
				t.Errorf("binds(%+v, %q, %v) = %v, want %v", tt.sub, tt.user, tt.groups, got, tt.want)
			}
		})
	}
}
