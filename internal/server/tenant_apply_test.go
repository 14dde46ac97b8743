package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestApplyOfAnotherTenantsProjectIsRefused (scenario 32): tenant A's admin applies,
// through the REST API, a file that takes over project tb of tenant B: the Project
// itself (relabelled), its ProjectConfig, a changed Warehouse, a new Stage and a
// RoleBinding making A admin there. The apply is refused at the Project, naming it;
// nothing of B's changes and nothing is created in B's namespace — the follow-on
// objects are never written with anyone's rights but A's. The same file without the
// Project is refused at the first object in tb.
func TestApplyOfAnotherTenantsProjectIsRefused(t *testing.T) {
	startServer(t)
	newProject(t, "ta")
	newProject(t, "tb")
	createYAML(t, "apiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: wb, namespace: tb}\nspec:\n  subscriptions:\n  - image: {repoURL: registry.example.com/b}\n")
	ctx := context.Background()
	take := func() map[string]string {
		out := map[string]string{}
		for name, obj := range map[string]client.Object{
			"Project tb":   &haulv1.Project{ObjectMeta: metaName("", "tb")},
			"Warehouse wb": &haulv1.Warehouse{ObjectMeta: metaName("tb", "wb")},
		} {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				t.Fatal(err)
			}
			out[name] = obj.GetResourceVersion()
		}
		return out
	}
	before := take()
	takeover := `apiVersion: haul.dev/v1alpha1
kind: Project
metadata:
  name: tb
  labels: {owner: tenant-a}
---
apiVersion: haul.dev/v1alpha1
kind: ProjectConfig
metadata: {name: tb, namespace: tb}
spec:
  promotionPolicies:
  - stageSelector: {name: "glob:*"}
    autoPromotionEnabled: true
---
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: wb, namespace: tb}
spec:
  subscriptions:
  - image: {repoURL: registry.example.com/attacker}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: grabbed, namespace: tb}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: wb}
    sources: {direct: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: grab, namespace: tb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: haul-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: oidc:admin@ta.test}
`
	check := func(t *testing.T, wantDoc string, code int, b []byte) {
		t.Helper()
		if code != http.StatusForbidden || !strings.Contains(string(b), wantDoc) || !strings.Contains(string(b), "(nothing was applied)") {
			t.Fatalf("%d %s; want 403 naming %s and that nothing was applied", code, b, wantDoc)
		}
		if after := take(); after["Project tb"] != before["Project tb"] || after["Warehouse wb"] != before["Warehouse wb"] {
			t.Fatalf("tenant B's objects changed: %v, before %v", after, before)
		}
		for _, obj := range []client.Object{
			&haulv1.ProjectConfig{ObjectMeta: metaName("tb", "tb")},
			&haulv1.Stage{ObjectMeta: metaName("tb", "grabbed")},
			&rbacv1.RoleBinding{ObjectMeta: metaName("tb", "grab")},
		} {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err == nil {
				t.Fatalf("%T %s was written in tenant B's namespace", obj, obj.GetName())
			}
		}
	}
	t.Run("with the Project", func(t *testing.T) {
		code, b := call(t, "POST", "/api/v1/apply", idToken(t, "admin@ta.test"), "application/yaml", takeover)
		check(t, "document 1 (Project tb)", code, b)
	})
	t.Run("without the Project", func(t *testing.T) {
		rest := takeover[strings.Index(takeover, "---\n")+4:]
		code, b := call(t, "POST", "/api/v1/apply", idToken(t, "admin@ta.test"), "application/yaml", rest)
		check(t, "document 1 (ProjectConfig tb/tb)", code, b)
	})
	t.Run("B's own admin may", func(t *testing.T) {
		// The refusal is about who asks: B's admin applies the Warehouse change.
		code, b := call(t, "POST", "/api/v1/apply", idToken(t, "admin@tb.test"), "application/yaml",
			"apiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: wb, namespace: tb}\nspec:\n  subscriptions:\n  - image: {repoURL: registry.example.com/b2}\n")
		if code != http.StatusOK || !strings.Contains(string(b), `"action":"configured"`) {
			t.Fatalf("B's admin: %d %s", code, b)
		}
	})
}
