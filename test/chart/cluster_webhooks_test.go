package chart_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestChartGivesClusterWebhookReceiversTheirSecrets: with a shared credentials namespace
// the server is told it (so the ClusterConfig's webhook receivers find their Secrets)
// and may only get Secrets there, by name; without one it gets neither.
func TestChartGivesClusterWebhookReceiversTheirSecrets(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("controller:\n  sharedCredentialsNamespace: haul-shared\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(objs []*unstructured.Unstructured, shared bool) {
		t.Helper()
		var serverArgs []string
		var role *rbacv1.Role
		var binding *rbacv1.RoleBinding
		for _, u := range objs {
			switch {
			case u.GetKind() == "Deployment" && u.GetName() == "haul-server":
				serverArgs = containerArgs(u)
			case u.GetKind() == "Role" && u.GetName() == "haul-cluster-webhook-secrets":
				role = &rbacv1.Role{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, role); err != nil {
					t.Fatal(err)
				}
			case u.GetKind() == "RoleBinding" && u.GetName() == "haul-cluster-webhook-secrets":
				binding = &rbacv1.RoleBinding{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, binding); err != nil {
					t.Fatal(err)
				}
			}
		}
		if has := slices.Contains(serverArgs, "--shared-credentials-namespace=haul-shared"); has != shared {
			t.Fatalf("server args %v: flag present %v, want %v", serverArgs, has, shared)
		}
		if !shared {
			if role != nil || binding != nil {
				t.Fatal("Secrets granted to the server without a shared namespace")
			}
			return
		}
		if role == nil || role.Namespace != "haul-shared" || len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Verbs, []string{"get"}) || !slices.Equal(role.Rules[0].Resources, []string{"secrets"}) {
			t.Fatalf("role %+v: want get on secrets in haul-shared only", role)
		}
		if binding == nil || binding.Namespace != "haul-shared" || len(binding.Subjects) != 1 || binding.Subjects[0].Name != "haul-server" || binding.RoleRef.Name != role.Name {
			t.Fatalf("binding %+v: want the server's ServiceAccount bound to %s", binding, role.Name)
		}
	}
	check(render(t, values), true)
	check(render(t, ""), false)
}
