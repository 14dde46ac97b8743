package cli

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/promotion"
)

// bindRole creates project role name in ns (with Haul's rules for it) bound to user.
func bindRole(t *testing.T, ns, role, user string) {
	t.Helper()
	ctx := context.Background()
	must(t, env.Client.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role}, Rules: project.RoleRules()[role]}))
	must(t, env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role + "-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}))
}

// TestApprovePromotionMatchesRoleRules: `haul approve --promotion` as a project admin
// (who may update Promotions, so the CLI records the answer itself) matches the step's
// `role` rules against the Roles the project binds to the caller, as the Haul server
// does: the admin's answer counts for `role: haul-admin`, and is refused for a rule
// naming a role the admin is not bound to.
func TestApprovePromotionMatchesRoleRules(t *testing.T) {
	h := newHarness(t)
	setupPipeline(t, h, "answer-role")
	bindRole(t, "answer-role", project.RoleAdmin, "alice")
	alice := &harness{t: t, kubeconfig: writeKubeconfig(t, env.Config, "alice")}
	ctx := context.Background()
	waiting := func(config string) *haulv1.Promotion {
		p := promotion.New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "answer-role", Name: "uat"}}, "2222222222222222222222222222222222222222", "kubectl:admin")
		must(t, env.Client.Create(ctx, p))
		p.Status.Phase = haulv1.PromotionRunning
		p.Status.Steps = []haulv1.PromotionStep{{Uses: "wait-for-approval", As: "gate", Config: &apiextensionsv1.JSON{Raw: []byte(config)}}}
		must(t, env.Client.Status().Update(ctx, p))
		return p
	}

	other := waiting(`{"approvers":[{"role":"release-managers"}]}`)
	if _, _, err := alice.run("-p", "answer-role", "approve", "--promotion", other.Name); err == nil || !strings.Contains(err.Error(), "matches none of the approvers") {
		t.Fatalf("answering for a role alice is not bound to: %v", err)
	}

	p := waiting(`{"approvers":[{"role":"haul-admin"}]}`)
	out, errOut, err := alice.run("-p", "answer-role", "approve", "--promotion", p.Name, "--message", "ship it")
	if err != nil {
		t.Fatalf("approve --promotion as a bound haul-admin: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "Promotion "+p.Name+" approved") {
		t.Errorf("output: %q", out)
	}
	cur := &haulv1.Promotion{}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(p), cur))
	got := cur.Annotations[haulv1.AnnotationApprovalResponses]
	if !strings.Contains(got, `"user":"alice"`) || !strings.Contains(got, `"message":"ship it"`) || !strings.Contains(got, `"rules":[0]`) {
		t.Errorf("recorded answers: %s", got)
	}
}
