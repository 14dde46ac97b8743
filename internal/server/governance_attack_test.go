package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// waitingForApproval creates a Promotion of Stage uat in project p whose running step
// is wait-for-approval with the given config, as the Promotion controller leaves it.
func waitingForApproval(t *testing.T, p, freight, config string) *haulv1.Promotion {
	t.Helper()
	ctx := context.Background()
	pr := promotion.New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: "uat"}}, freight, "api:"+oidcUser("promoter@"+p+".test"))
	must(t, env.Client.Create(ctx, pr))
	pr.Status.Phase = haulv1.PromotionRunning
	pr.Status.Steps = []haulv1.PromotionStep{{Uses: "wait-for-approval", As: "gate", Config: &apiextensionsv1.JSON{Raw: []byte(config)}}}
	must(t, env.Client.Status().Update(ctx, pr))
	return pr
}

// responses is the Promotion's recorded wait-for-approval answers, as stored.
func responses(t *testing.T, pr *haulv1.Promotion) string {
	t.Helper()
	cur := &haulv1.Promotion{}
	must(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(pr), cur))
	return cur.Annotations[haulv1.AnnotationApprovalResponses]
}

// TestWaitForApprovalAnswersFromStrangersAreRefused performs the attacks on answering a
// waiting Promotion through the REST API: a project member outside the approvers, a
// member of another project who is in the approvers' group, somebody without a token,
// and a promoter writing the answers annotation himself. None may record an answer
// (nor, by rejecting, fail the Promotion); an eligible member may.
func TestWaitForApprovalAnswersFromStrangersAreRefused(t *testing.T) {
	startServer(t)
	newProject(t, "wa")
	newProject(t, "wx")
	createYAML(t, pipelineYAML("wa"))
	f := newFreight(t, "wa", "e0e0e0e0e0000000000000000000000000000000", "eager-elk", "1.0.0", "test")
	pr := waitingForApproval(t, "wa", f.Name, `{"approvers":[{"claim":"groups","value":"sre"}],"minApprovals":1}`)
	path := "/api/v1/projects/wa/promotions/" + pr.Name + "/respond"

	code, b := call(t, "POST", path, idToken(t, "promoter@wa.test", "dev"), "application/json", `{"action":"reject","message":"no"}`)
	if code != http.StatusForbidden || !strings.Contains(string(b), "matches none of the approvers") {
		t.Fatalf("a member outside the approvers rejecting: %d %s", code, b)
	}
	code, b = call(t, "POST", path, idToken(t, "promoter@wx.test", "sre"), "application/json", `{"action":"approve"}`)
	if code != http.StatusForbidden && code != http.StatusNotFound {
		t.Fatalf("a member of another project, in group sre, approving: %d %s", code, b)
	}
	if strings.Contains(string(b), "eager-elk") || strings.Contains(string(b), "gate") {
		t.Fatalf("the refusal told another tenant about the Promotion: %s", b)
	}
	code, b = call(t, "POST", path, "", "application/json", `{"action":"approve"}`)
	if code != http.StatusUnauthorized {
		t.Fatalf("answering without a token: %d %s", code, b)
	}
	if got := responses(t, pr); got != "" {
		t.Fatalf("refused answers were recorded: %s", got)
	}

	// The answers live in an annotation; a promoter may not write it himself.
	c, err := env.Impersonate(oidcUser("promoter@wa.test"))
	must(t, err)
	forged := &haulv1.Promotion{}
	must(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(pr), forged))
	forged.Annotations[haulv1.AnnotationApprovalResponses] = `[{"step":"gate","user":"oidc:sre-lead@wa.test","action":"approve","time":"2026-01-01T00:00:00Z"}]`
	if err := c.Update(context.Background(), forged); !apierrors.IsForbidden(err) {
		t.Fatalf("a promoter writing the answers annotation: %v", err)
	}
	if got := responses(t, pr); got != "" {
		t.Fatalf("a forged answer was stored: %s", got)
	}

	// Control: a project member in the approvers' group answers, even as a viewer.
	code, b = call(t, "POST", path, idToken(t, "viewer@wa.test", "sre"), "application/json", `{"action":"approve","message":"ok"}`)
	if code != http.StatusOK {
		t.Fatalf("an eligible member approving: %d %s", code, b)
	}
	if got := responses(t, pr); !strings.Contains(got, `"user":"`+oidcUser("viewer@wa.test")+`"`) || !strings.Contains(got, `"action":"approve"`) {
		t.Fatalf("the eligible answer was not recorded: %s", got)
	}
}

// TestRollbackCannotBeClaimedByAUser: a Promotion is treated as an automatic rollback
// (ctx.meta.promotion.rollback, no hold of its Freight) only with the controller's
// actor auto-rollback, which admission refuses to anybody who may not update
// Promotions. A promoter who sets the rollback annotation on his own Promotion gets an
// ordinary one.
func TestRollbackCannotBeClaimedByAUser(t *testing.T) {
	startServer(t)
	newProject(t, "rb")
	createYAML(t, pipelineYAML("rb"))
	f := newFreight(t, "rb", "f0f0f0f0f0000000000000000000000000000000", "fast-fox", "1.0.0", "test")
	c, err := env.Impersonate(oidcUser("promoter@rb.test"))
	must(t, err)
	ctx := context.Background()
	uat := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "rb", Name: "uat"}}

	forged := promotion.New(uat, f.Name, promotion.RollbackActor)
	forged.Annotations[haulv1.AnnotationRollback] = "true"
	if !promotion.IsRollback(forged) {
		t.Fatal("the forged Promotion would not even count as a rollback; the attack tests nothing")
	}
	if err := c.Create(ctx, forged); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "names somebody else") {
		t.Fatalf("a promoter creating a Promotion as auto-rollback: %v", err)
	}

	own := promotion.New(uat, f.Name, "kubectl:"+oidcUser("promoter@rb.test"))
	own.Annotations[haulv1.AnnotationRollback] = "true"
	must(t, c.Create(ctx, own))
	stored := &haulv1.Promotion{}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(own), stored))
	if promotion.IsRollback(stored) {
		t.Fatalf("a promoter's Promotion with %s counts as an automatic rollback", haulv1.AnnotationRollback)
	}
}

// TestWaitForApprovalRoleRules: a `role` rule matches the Roles the project's
// RoleBindings bind to the caller: the promoter (bound to haul-promoter) may answer,
// the viewer may not; a rule naming a role nobody holds refuses even the admin.
func TestWaitForApprovalRoleRules(t *testing.T) {
	startServer(t)
	newProject(t, "wr")
	createYAML(t, pipelineYAML("wr"))
	f := newFreight(t, "wr", "e1e1e1e1e1000000000000000000000000000000", "even-emu", "1.0.0", "test")
	pr := waitingForApproval(t, "wr", f.Name, `{"approvers":[{"role":"haul-promoter"}]}`)
	path := "/api/v1/projects/wr/promotions/" + pr.Name + "/respond"
	if code, b := call(t, "POST", path, idToken(t, "viewer@wr.test"), "application/json", `{"action":"approve"}`); code != http.StatusForbidden {
		t.Fatalf("a viewer answering a haul-promoter rule: %d %s", code, b)
	}
	if code, b := call(t, "POST", path, idToken(t, "promoter@wr.test"), "application/json", `{"action":"approve"}`); code != http.StatusOK {
		t.Fatalf("a promoter answering a haul-promoter rule: %d %s", code, b)
	}
	if got := responses(t, pr); !strings.Contains(got, oidcUser("promoter@wr.test")) || strings.Contains(got, "viewer") {
		t.Fatalf("recorded answers: %s", got)
	}
	nobody := waitingForApproval(t, "wr", f.Name, `{"approvers":[{"role":"release-managers"}]}`)
	if code, b := call(t, "POST", "/api/v1/projects/wr/promotions/"+nobody.Name+"/respond", idToken(t, "admin@wr.test"), "application/json", `{"action":"approve"}`); code != http.StatusForbidden {
		t.Fatalf("the admin answering for a role nobody holds: %d %s", code, b)
	}
}
