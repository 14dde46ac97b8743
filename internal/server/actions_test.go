package server

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestPromote checks what a promotion through the API creates, and that Freight not
// available to the Stage is refused before anything is written.
func TestPromote(t *testing.T) {
	startServer(t)
	newProject(t, "pr")
	createYAML(t, pipelineYAML("pr"))
	fresh := newFreight(t, "pr", "a1b2c3d4e5f60000000000000000000000000000", "fresh-fox", "1.0.0")
	promoter := idToken(t, "promoter@pr.test")

	code, b := call(t, "POST", "/api/v1/projects/pr/stages/uat/promote", promoter, "application/json", `{"freight":"fresh-fox"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "Freight fresh-fox is not available to Stage uat") {
		t.Fatalf("promoting unverified Freight to uat: %d %s", code, b)
	}
	if n := countPromotions(t, "pr"); n != 0 {
		t.Fatalf("%d Promotions written for a refused promotion", n)
	}

	code, b = call(t, "POST", "/api/v1/projects/pr/stages/test/promote", promoter, "application/json", `{"freight":"`+fresh.Name+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("promote: %d %s", code, b)
	}
	var p haulv1.Promotion
	must(t, json.Unmarshal(b, &p))
	if !regexp.MustCompile(`^test\.[0-9a-z]{26}\.a1b2c3d$`).MatchString(p.Name) {
		t.Errorf("Promotion name %q is not <stage>.<ulid>.<freight[:7]>", p.Name)
	}
	if p.Kind != "Promotion" || p.APIVersion != "haul.dev/v1alpha1" {
		t.Errorf("apiVersion/kind %q/%q", p.APIVersion, p.Kind)
	}
	if got := p.Annotations[haulv1.AnnotationCreateActor]; got != "api:oidc:promoter@pr.test" {
		t.Errorf("create-actor annotation %q", got)
	}
	if p.Spec.Stage != "test" || p.Spec.Freight != fresh.Name {
		t.Errorf("spec %+v", p.Spec)
	}

	// Approval makes it available to uat; then promote-downstream of test reaches uat
	// only once it is verified in test, so approve first and promote directly.
	code, b = call(t, "POST", "/api/v1/projects/pr/freight/"+fresh.Name+"/approve", promoter, "application/json", `{"stage":"uat"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"approvedBy":"oidc:promoter@pr.test"`) {
		t.Fatalf("approve: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/pr/stages/uat/promote", promoter, "application/json", `{"freight":"fresh-fox"}`)
	if code != http.StatusCreated {
		t.Fatalf("promoting approved Freight: %d %s", code, b)
	}

	code, b = call(t, "POST", "/api/v1/projects/pr/stages/test/promote", promoter, "application/json", `{}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `\"freight\"`) {
		t.Fatalf("promote without freight: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/projects/pr/stages/test/promote", promoter, "application/json", `{`)
	if code != http.StatusBadRequest {
		t.Fatalf("promote with broken JSON: %d %s", code, b)
	}
}

// TestAlias checks an alias change updates the label and refuses an alias in use.
func TestAlias(t *testing.T) {
	startServer(t)
	newProject(t, "al")
	createYAML(t, pipelineYAML("al"))
	f1 := newFreight(t, "al", "1111111111111111111111111111111111111111", "one", "1.0.0")
	newFreight(t, "al", "2222222222222222222222222222222222222222", "two", "2.0.0")
	admin := idToken(t, "admin@al.test")

	code, b := call(t, "PATCH", "/api/v1/projects/al/freight/"+f1.Name+"/alias", admin, "application/json", `{"alias":"two"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), `alias \"two\" is already used`) {
		t.Fatalf("duplicate alias: %d %s", code, b)
	}
	code, b = call(t, "PATCH", "/api/v1/projects/al/freight/"+f1.Name+"/alias", admin, "application/json", `{"alias":"Not Valid"}`)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid alias: %d %s", code, b)
	}
	code, b = call(t, "PATCH", "/api/v1/projects/al/freight/"+f1.Name+"/alias", admin, "application/json", `{"alias":"uno"}`)
	if code != http.StatusOK {
		t.Fatalf("alias: %d %s", code, b)
	}
	got := &haulv1.Freight{}
	must(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(f1), got))
	if got.Alias != "uno" || got.Labels[haulv1.LabelAlias] != "uno" {
		t.Fatalf("alias %q, label %q", got.Alias, got.Labels[haulv1.LabelAlias])
	}
}

// TestApplyRunsAsCaller checks apply cannot give a caller rights they lack: a viewer's
// apply writes nothing, and a multi-document apply stops at the first refused object.
func TestApplyRunsAsCaller(t *testing.T) {
	startServer(t)
	newProject(t, "ap")
	manifests := `
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: w2, namespace: ap}
spec:
  subscriptions:
  - image: {repoURL: registry.example.com/other}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: s2, namespace: ap}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w2}
    sources: {direct: true}
`
	exists := func(obj client.Object) bool {
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj) == nil
	}
	code, b := call(t, "POST", "/api/v1/apply", idToken(t, "viewer@ap.test"), "application/yaml", manifests)
	if code != http.StatusForbidden {
		t.Fatalf("viewer apply: %d %s", code, b)
	}
	if exists(&haulv1.Warehouse{ObjectMeta: metaName("ap", "w2")}) || exists(&haulv1.Stage{ObjectMeta: metaName("ap", "s2")}) {
		t.Fatal("a viewer's apply wrote objects")
	}

	// A project admin may not create a cluster-scoped Project; nothing after it is written.
	grab := "apiVersion: haul.dev/v1alpha1\nkind: Project\nmetadata: {name: someone-elses}\n---\n" + manifests
	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", grab)
	if code != http.StatusForbidden || !strings.Contains(string(b), "document 1 (Project someone-elses)") {
		t.Fatalf("project admin creating a Project: %d %s", code, b)
	}
	if exists(&haulv1.Warehouse{ObjectMeta: metaName("ap", "w2")}) {
		t.Fatal("objects after the refused Project were written")
	}

	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", manifests)
	if code != http.StatusOK || strings.Count(string(b), `"action":"created"`) != 2 {
		t.Fatalf("admin apply: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", manifests)
	if code != http.StatusOK || strings.Count(string(b), `"action":"unchanged"`) != 2 {
		t.Fatalf("admin re-apply: %d %s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", "kind: [")
	if code != http.StatusBadRequest {
		t.Fatalf("broken YAML: %d %s", code, b)
	}

	// Kargo manifests are converted as by `haul apply`.
	kargoWarehouse := "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: kw, namespace: ap}\nspec:\n  subscriptions:\n  - image: {repoURL: registry.example.com/k, semverConstraint: ^1.0.0}\n"
	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", kargoWarehouse)
	if code != http.StatusOK || !exists(&haulv1.Warehouse{ObjectMeta: metaName("ap", "kw")}) {
		t.Fatalf("Kargo Warehouse: %d %s", code, b)
	}

	// A project admin may edit roles, but not grant what they do not hold themselves.
	escalate := map[string]string{
		"Role granting pods":       "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: more, namespace: ap}\nrules:\n- apiGroups: ['']\n  resources: [pods]\n  verbs: [create]\n",
		"binding to cluster-admin": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: more, namespace: ap}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {apiGroup: rbac.authorization.k8s.io, kind: User, name: admin@ap.test}\n",
	}
	for name, doc := range escalate {
		code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", doc)
		if code != http.StatusForbidden {
			t.Fatalf("%s: %d %s, want 403", name, code, b)
		}
	}

	bad := strings.Replace(manifests, "direct: true", "direct: false", 1)
	code, b = call(t, "POST", "/api/v1/apply", idToken(t, "admin@ap.test"), "application/yaml", bad)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "sources") {
		t.Fatalf("invalid Stage: %d %s", code, b)
	}
}

// TestCreateWithoutPromote checks that a user who may create Promotions but lacks the
// promote verb is refused on every path that promotes or approves (reliability 31).
func TestCreateWithoutPromote(t *testing.T) {
	startServer(t)
	newProject(t, "cw")
	createYAML(t, pipelineYAML("cw"))
	f := newFreight(t, "cw", "3333333333333333333333333333333333333333", "three", "3.0.0", "test")
	ctx := context.Background()
	must(t, env.Client.Create(ctx, &rbacv1.Role{
		ObjectMeta: metaName("cw", "creator"),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"haul.dev"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"haul.dev"}, Resources: []string{"promotions", "freights", "freights/status"}, Verbs: []string{"create", "patch", "update"}},
		},
	}))
	must(t, env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metaName("cw", "creator"),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "creator"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: oidcUser("creator@cw.test")}},
	}))
	tok := idToken(t, "creator@cw.test")
	promotion := "apiVersion: haul.dev/v1alpha1\nkind: Promotion\nmetadata: {name: test.sneaky, namespace: cw}\nspec: {stage: test, freight: " + f.Name + "}\n"
	for _, rq := range []struct{ method, path, ct, body string }{
		{"POST", "/api/v1/projects/cw/stages/test/promote", "application/json", `{"freight":"three"}`},
		{"POST", "/api/v1/projects/cw/stages/test/promote-downstream", "application/json", `{"freight":"three"}`},
		{"POST", "/api/v1/projects/cw/freight/" + f.Name + "/approve", "application/json", `{"stage":"uat"}`},
		{"POST", "/api/v1/apply", "application/yaml", promotion},
	} {
		code, b := call(t, rq.method, rq.path, tok, rq.ct, rq.body)
		if code != http.StatusForbidden {
			t.Errorf("%s %s: %d %s, want 403", rq.method, rq.path, code, b)
		}
	}
	if n := countPromotions(t, "cw"); n != 0 {
		t.Fatalf("%d Promotions were written", n)
	}
	code, b := call(t, "GET", "/api/v1/projects/cw/permissions", tok, "", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"promote":false`) || !strings.Contains(string(b), `"approve":false`) {
		t.Fatalf("permissions: %d %s", code, b)
	}
}

// TestPermissions checks what the dashboard is told each role may do.
func TestPermissions(t *testing.T) {
	startServer(t)
	newProject(t, "pm")
	want := map[string]map[string]bool{
		"viewer@pm.test":   {"promote": false, "approve": false, "pause": false, "override": false, "refresh": false, "abort": false, "admin": false},
		"promoter@pm.test": {"promote": true, "approve": true, "pause": true, "override": false, "refresh": true, "abort": true, "admin": false},
		"admin@pm.test":    {"promote": true, "approve": true, "pause": true, "override": true, "refresh": true, "abort": true, "admin": true},
	}
	for user, w := range want {
		code, b := call(t, "GET", "/api/v1/projects/pm/permissions", idToken(t, user), "", "")
		var got map[string]bool
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil {
			t.Fatalf("%s: %d %s", user, code, b)
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", user, k, got[k], v)
			}
		}
	}
}

// TestApplyWaitsForProjectNamespace applies a Project and objects in it in one request;
// the objects wait for the namespace the Project controller creates (played here by
// the test, a second later).
func TestApplyWaitsForProjectNamespace(t *testing.T) {
	startServer(t)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metaName("", "nsw")})
		_ = env.Client.Delete(context.Background(), &haulv1.Project{ObjectMeta: metaName("", "nsw")})
	})
	created := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		created <- env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metaName("", "nsw")})
	}()
	docs := "apiVersion: haul.dev/v1alpha1\nkind: Project\nmetadata: {name: nsw}\n---\n" +
		"apiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: nsw}\nspec:\n  subscriptions:\n  - image: {repoURL: registry.example.com/app}\n"
	code, b := call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", docs)
	must(t, <-created)
	if code != http.StatusOK || strings.Count(string(b), `"action":"created"`) != 2 {
		t.Fatalf("apply of a project with its objects: %d %s", code, b)
	}
}
