package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// getFreight reads Freight as the cluster admin.
func getFreight(t *testing.T, p, name string) *haulv1.Freight {
	t.Helper()
	f := &haulv1.Freight{}
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: p, Name: name}, f))
	return f
}

// setApproval gives a Stage of project p an approval requirement (JSON).
func setApproval(t *testing.T, p, stage, rule string) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"approval":`+rule+`}}`))
	must(t, env.Client.Patch(context.Background(), &haulv1.Stage{ObjectMeta: metaName(p, stage)}, patch))
}

// TestApprovalsByTwoRoles: uat needs two approvals. An approver (haul-approver) and a
// promoter (haul-promoter) approve through the REST API; after the first the Freight
// is still unavailable to uat, after the second it is available and promotable. A
// viewer, without the approve verb, gets 403; approving twice counts once.
func TestApprovalsByTwoRoles(t *testing.T) {
	startServer(t)
	newProject(t, "apr")
	createYAML(t, pipelineYAML("apr"))
	setApproval(t, "apr", "uat", `{"requiredApprovals":2}`)
	f := newFreight(t, "apr", "a0a0a0a0a0000000000000000000000000000000", "calm-crab", "1.0.0")
	approver, promoter := idToken(t, "approver@apr.test"), idToken(t, "promoter@apr.test")
	approvePath := "/api/v1/projects/apr/freight/calm-crab/approve"

	code, b := call(t, "POST", approvePath, idToken(t, "viewer@apr.test"), "application/json", `{"stage":"uat"}`)
	if code != http.StatusForbidden || !strings.Contains(string(b), "approve Freight") {
		t.Fatalf("viewer approving: %d %s", code, b)
	}
	for range 2 { // the second time counts once
		code, b = call(t, "POST", approvePath, approver, "application/json", `{"stage":"uat"}`)
		if code != http.StatusOK {
			t.Fatalf("approver approving: %d %s", code, b)
		}
	}
	got := getFreight(t, "apr", f.Name)
	if len(got.Status.Approvals) != 1 || got.Status.Approvals[0].Identity != oidcUser("approver@apr.test") || got.Status.Approvals[0].ApprovedAt == nil {
		t.Fatalf("approvals after one approver = %+v", got.Status.Approvals)
	}
	if _, ok := got.Status.ApprovedFor["uat"]; ok {
		t.Fatal("approvedFor[uat] set after 1 of 2 approvals")
	}
	code, b = call(t, "POST", "/api/v1/projects/apr/stages/uat/promote", promoter, "application/json", `{"freight":"calm-crab"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "not available to Stage uat") {
		t.Fatalf("promoting after 1 of 2 approvals: %d %s", code, b)
	}

	code, b = call(t, "POST", approvePath, promoter, "application/json", `{"stage":"uat"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"approvals":[`) {
		t.Fatalf("promoter approving: %d %s", code, b)
	}
	got = getFreight(t, "apr", f.Name)
	if len(got.Status.Approvals) != 2 {
		t.Fatalf("approvals = %+v", got.Status.Approvals)
	}
	if a, ok := got.Status.ApprovedFor["uat"]; !ok || !strings.Contains(a.ApprovedBy, "approver@apr.test") || !strings.Contains(a.ApprovedBy, "promoter@apr.test") {
		t.Fatalf("approvedFor = %+v, want uat approved by both", got.Status.ApprovedFor)
	}
	code, b = call(t, "GET", "/api/v1/projects/apr/freight/"+f.Name, approver, "", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"identity":"oidc:promoter@apr.test"`) {
		t.Fatalf("REST Freight lacks status.approvals: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/apr/stages/uat/promote", promoter, "application/json", `{"freight":"calm-crab"}`)
	if code != http.StatusCreated {
		t.Fatalf("promoting after 2 of 2 approvals: %d %s", code, b)
	}
	// The approver may approve but not promote.
	code, b = call(t, "POST", "/api/v1/projects/apr/stages/uat/promote", approver, "application/json", `{"freight":"calm-crab"}`)
	if code != http.StatusForbidden {
		t.Fatalf("approver promoting: %d %s", code, b)
	}
}

// TestApprovalsFromAllowedGroupsAndVerifiedFreight: a Stage whose approvals count
// only from group sre (oidc:sre, as the server prefixes ID token groups) refuses others' approvals; Freight verified upstream is still
// held until approved, and the API names how many approvals it has.
func TestApprovalsFromAllowedGroupsAndVerifiedFreight(t *testing.T) {
	startServer(t)
	newProject(t, "ag")
	createYAML(t, pipelineYAML("ag"))
	setApproval(t, "ag", "uat", `{"requiredApprovals":2,"allowedGroups":["oidc:sre"]}`)
	newFreight(t, "ag", "b0b0b0b0b0000000000000000000000000000000", "bold-bee", "1.0.0", "test")

	code, b := call(t, "POST", "/api/v1/projects/ag/stages/uat/promote", idToken(t, "promoter@ag.test"), "application/json", `{"freight":"bold-bee"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "needs approval for Stage uat: 0 of 2 approvals") {
		t.Fatalf("promoting verified but unapproved Freight: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/ag/freight/bold-bee/approve", idToken(t, "approver@ag.test", "dev"), "application/json", `{"stage":"uat"}`)
	if code != http.StatusForbidden || !strings.Contains(string(b), "groups oidc:sre") {
		t.Fatalf("approving outside the allowed groups: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/ag/freight/bold-bee/approve", idToken(t, "approver@ag.test", "sre"), "application/json", `{"stage":"uat"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"groups":["oidc:sre"]`) {
		t.Fatalf("approving from sre: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/ag/stages/uat/promote", idToken(t, "promoter@ag.test"), "application/json", `{"freight":"bold-bee"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "1 of 2 approvals") {
		t.Fatalf("promoting after 1 of 2 approvals: %d %s", code, b)
	}
}

// TestForbidSelfApprovalRefusedByAPI: with four eyes on, the only approver may not
// promote (409 naming why); another promoter may.
func TestForbidSelfApprovalRefusedByAPI(t *testing.T) {
	startServer(t)
	newProject(t, "fe")
	createYAML(t, pipelineYAML("fe"))
	setApproval(t, "fe", "uat", `{"requiredApprovals":1,"forbidSelfApproval":true}`)
	newFreight(t, "fe", "c0c0c0c0c0000000000000000000000000000000", "cool-cat", "1.0.0")
	promoter := idToken(t, "promoter@fe.test")
	code, b := call(t, "POST", "/api/v1/projects/fe/freight/cool-cat/approve", promoter, "application/json", `{"stage":"uat"}`)
	if code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/fe/stages/uat/promote", promoter, "application/json", `{"freight":"cool-cat"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "0 of 1 approvals (the approval of oidc:promoter@fe.test, who requested the Promotion, does not count)") {
		t.Fatalf("self-approved promotion: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/fe/stages/uat/promote", idToken(t, "admin@fe.test"), "application/json", `{"freight":"cool-cat"}`)
	if code != http.StatusCreated {
		t.Fatalf("promotion by somebody else: %d %s", code, b)
	}
}

// TestPromotionActorCannotNameSomebodyElse: haul.dev/create-actor decides whose
// approval four eyes leaves out, so a promoter may write only their own name there.
func TestPromotionActorCannotNameSomebodyElse(t *testing.T) {
	startServer(t)
	newProject(t, "pa")
	createYAML(t, pipelineYAML("pa"))
	f := newFreight(t, "pa", "d0d0d0d0d0000000000000000000000000000000", "deep-dog", "1.0.0")
	c, err := env.Impersonate(oidcUser("promoter@pa.test"))
	must(t, err)
	ctx := context.Background()
	forged := promotion.New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "pa", Name: "test"}}, f.Name, "api:"+oidcUser("approver@pa.test"))
	if err := c.Create(ctx, forged); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "names somebody else") {
		t.Fatalf("creating a Promotion naming somebody else: %v", err)
	}
	for _, actor := range []string{"kubectl:" + oidcUser("promoter@pa.test"), ""} {
		own := promotion.New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "pa", Name: "test"}}, f.Name, actor)
		if actor == "" {
			delete(own.Annotations, haulv1.AnnotationCreateActor)
		}
		must(t, c.Create(ctx, own))
	}
}

// TestPauseAndResumeThroughAPI: pausing needs the verb pause (a viewer gets 403); the
// server sets and clears spec.paused and records who asked.
func TestPauseAndResumeThroughAPI(t *testing.T) {
	startServer(t)
	newProject(t, "ps")
	createYAML(t, pipelineYAML("ps"))
	code, b := call(t, "POST", "/api/v1/projects/ps/stages/uat/pause", idToken(t, "viewer@ps.test"), "", "")
	if code != http.StatusForbidden || !strings.Contains(string(b), "pause Stages") {
		t.Fatalf("viewer pausing: %d %s", code, b)
	}
	promoter := idToken(t, "promoter@ps.test")
	stage := func() *haulv1.Stage {
		st := &haulv1.Stage{}
		must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "ps", Name: "uat"}, st))
		return st
	}
	code, b = call(t, "POST", "/api/v1/projects/ps/stages/uat/pause", promoter, "", "")
	var st haulv1.Stage
	if code != http.StatusOK || json.Unmarshal(b, &st) != nil || !st.Spec.Paused {
		t.Fatalf("pause: %d %s", code, b)
	}
	if got := stage(); !got.Spec.Paused || got.Annotations[AnnotationActionActor] != "api:"+oidcUser("promoter@ps.test") {
		t.Fatalf("after pause: paused=%v annotations=%v", got.Spec.Paused, got.Annotations)
	}
	code, b = call(t, "POST", "/api/v1/projects/ps/stages/uat/resume", promoter, "", "")
	if code != http.StatusOK || stage().Spec.Paused {
		t.Fatalf("resume: %d %s", code, b)
	}
	code, _ = call(t, "POST", "/api/v1/projects/ps/stages/nope/pause", promoter, "", "")
	if code != http.StatusNotFound {
		t.Fatalf("pausing a missing Stage: %d", code)
	}
}
