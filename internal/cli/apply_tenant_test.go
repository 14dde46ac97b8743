package cli

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
)

// tenantProject creates project name (namespace, Project, the four roles) with admin
// as its haul-admin.
func tenantProject(t *testing.T, name, admin string) {
	t.Helper()
	ctx := context.Background()
	projectNamespace(t, name)
	if err := env.Client.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	for role, rules := range project.RoleRules() {
		if err := env.Client.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: role}, Rules: rules}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "admins"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: project.RoleAdmin},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: admin}},
	}); err != nil {
		t.Fatal(err)
	}
}

// TestApplyOfAnotherTenantsProjectIsRefusedByTheCLI (scenario 32): `haul apply` by
// tenant A's admin of a file that takes over tenant B's project (the Project, a
// changed Warehouse, a new Stage, a RoleBinding) is refused before anything is
// written, naming the Project; B's objects keep their resourceVersions and nothing
// appears in B's namespace.
func TestApplyOfAnotherTenantsProjectIsRefusedByTheCLI(t *testing.T) {
	newHarness(t)
	tenantProject(t, "cli-ta", "alice")
	tenantProject(t, "cli-tb", "bob")
	ctx := context.Background()
	wb := &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: "cli-tb", Name: "wb"}, Spec: haulv1.WarehouseSpec{
		Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: "registry.example.com/b"}}}}}
	if err := env.Client.Create(ctx, wb); err != nil {
		t.Fatal(err)
	}
	proj := &haulv1.Project{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "cli-tb"}, proj); err != nil {
		t.Fatal(err)
	}
	projRV, whRV := proj.ResourceVersion, wb.ResourceVersion
	takeover := `apiVersion: haul.dev/v1alpha1
kind: Project
metadata:
  name: cli-tb
  labels: {owner: tenant-a}
---
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: wb, namespace: cli-tb}
spec:
  subscriptions:
  - image: {repoURL: registry.example.com/attacker}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: grabbed, namespace: cli-tb}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: wb}
    sources: {direct: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: grab, namespace: cli-tb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: haul-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
`
	alice := &harness{t: t, kubeconfig: writeKubeconfig(t, env.Config, "alice")}
	_, _, err := alice.run("-p", "cli-ta", "apply", "-f", writeFile(t, "takeover.yaml", takeover))
	if err == nil || err.Error() != "nothing was applied: you may not list stages in project cli-tb (needs verb list on stages)" {
		t.Fatalf("haul apply of another tenant's Project: %v", err)
	}
	// The Project alone is refused by its dry run, naming it.
	onlyProject := takeover[:strings.Index(takeover, "---\n")]
	_, _, err = alice.run("-p", "cli-ta", "apply", "-f", writeFile(t, "project.yaml", onlyProject))
	if err == nil || !strings.HasPrefix(err.Error(), "nothing was applied: ") || !strings.Contains(err.Error(), "project.haul.dev/cli-tb") || !strings.Contains(err.Error(), "you may not get project cli-tb") {
		t.Fatalf("haul apply of another tenant's Project alone: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "cli-tb"}, proj); err != nil || proj.ResourceVersion != projRV || proj.Labels["owner"] != "" {
		t.Fatalf("tenant B's Project changed: %v %+v", err, proj.ObjectMeta)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wb), wb); err != nil || wb.ResourceVersion != whRV {
		t.Fatalf("tenant B's Warehouse changed: %v %s", err, wb.ResourceVersion)
	}
	if n := countObjects(t, &haulv1.StageList{}, "cli-tb"); n != 0 {
		t.Fatalf("%d Stages written in tenant B's namespace", n)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "cli-tb", Name: "grab"}, &rbacv1.RoleBinding{}); err == nil {
		t.Fatal("the RoleBinding was written in tenant B's namespace")
	}
}
