package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestOIDCSystemMastersGroupIsNotClusterAdmin sends an ID token whose groups claim is
// system:masters: the group is impersonated as oidc:system:masters, which holds no
// rights, so creating a cluster-scoped object through apply is refused.
func TestOIDCSystemMastersGroupIsNotClusterAdmin(t *testing.T) {
	startServer(t)
	tok := idToken(t, "mallory@evil.test", "system:masters")

	code, b := call(t, "GET", "/api/v1/whoami", tok, "", "")
	var who struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &who) != nil {
		t.Fatalf("whoami: %d %s", code, b)
	}
	if who.Username != "oidc:mallory@evil.test" || len(who.Groups) != 1 || who.Groups[0] != "oidc:system:masters" {
		t.Fatalf("whoami = %+v, want user oidc:mallory@evil.test in group oidc:system:masters only", who)
	}

	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: pwned-by-masters}\n"
	code, b = call(t, "POST", "/api/v1/apply", tok, "application/yaml", ns)
	if code != http.StatusForbidden || !strings.Contains(string(b), `oidc:mallory@evil.test`) {
		t.Fatalf("apply of a Namespace with a system:masters group claim: %d %s, want 403 naming the prefixed user", code, b)
	}
	err := env.Client.Get(context.Background(), client.ObjectKey{Name: "pwned-by-masters"}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("namespace pwned-by-masters exists after a refused apply (get: %v)", err)
	}
	// A cluster admin (the local admin token) may do the same: the refusal is RBAC.
	code, b = call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", strings.ReplaceAll(ns, "pwned-by-masters", "created-by-admin-token"))
	if code != http.StatusOK {
		t.Fatalf("apply of a Namespace with the admin token: %d %s", code, b)
	}
	_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "created-by-admin-token"}})
}

// TestOIDCServiceAccountUsernameIsRefused sends ID tokens naming Kubernetes' own
// identities as the user: each is refused at authentication with a message naming
// the claim and its value, whatever the route.
func TestOIDCServiceAccountUsernameIsRefused(t *testing.T) {
	_, iss := startServer(t)
	for name, claims := range map[string]map[string]any{
		"service account email": {"sub": "x", "email": "system:serviceaccount:kube-system:default"},
		"node email":            {"sub": "x", "email": "system:node:worker-1"},
		"group-only subject":    {"sub": "system:kube-controller-manager", "groups": []string{"team"}},
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := iss.IDToken(claims)
			if err != nil {
				t.Fatal(err)
			}
			value, _ := claims["email"].(string)
			claim := "email"
			if value == "" {
				value, claim = claims["sub"].(string), "sub"
			}
			for _, path := range []string{"/api/v1/whoami", "/api/v1/projects/kube-system/stages"} {
				code, b := call(t, "GET", path, tok, "", "")
				if code != http.StatusUnauthorized {
					t.Fatalf("GET %s: %d %s, want 401", path, code, b)
				}
				var e apiError
				must(t, json.Unmarshal(b, &e))
				want := `claim "` + claim + `" is "` + value + `", a reserved Kubernetes identity`
				if !strings.Contains(e.Message, want) {
					t.Fatalf("GET %s: message %q, want it to contain %q", path, e.Message, want)
				}
			}
		})
	}
}

// TestOIDCUsersAreBoundUnderThePrefix: RBAC bindings name OIDC users and groups with
// the prefix. A binding to the prefixed name works; one to the bare claim value, which
// a token could otherwise claim, grants nothing.
func TestOIDCUsersAreBoundUnderThePrefix(t *testing.T) {
	startServer(t)
	newProject(t, "prefixed")
	createYAML(t, pipelineYAML("prefixed"))
	bind := func(name string, subject rbacv1.Subject) {
		must(t, env.Client.Create(context.Background(), &rbacv1.RoleBinding{
			ObjectMeta: metaName("prefixed", name),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "haul-viewer"},
			Subjects:   []rbacv1.Subject{subject},
		}))
	}
	bind("alice", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "oidc:alice@corp.test"})
	bind("bare-bob", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "bob@corp.test"})
	bind("team", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "oidc:release-team"})

	for _, tc := range []struct {
		who   string
		token string
		want  int
	}{
		{"alice bound as oidc:alice@corp.test", idToken(t, "alice@corp.test"), http.StatusOK},
		{"bob bound without the prefix", idToken(t, "bob@corp.test"), http.StatusNotFound},
		{"carol in group release-team, bound as oidc:release-team", idToken(t, "carol@corp.test", "release-team"), http.StatusOK},
	} {
		code, b := call(t, "GET", "/api/v1/projects/prefixed/stages/test", tc.token, "", "")
		if code != tc.want {
			t.Errorf("%s: GET stage: %d %s, want %d", tc.who, code, b, tc.want)
		}
	}
}

// TestPromoterCannotEditThroughKubernetes uses a promoter's rights straight against the
// API server, as kubectl would: reading and creating Promotions work; changing a
// Stage's steps, a Warehouse, Freight or its status (a forged approval), or a
// Promotion is forbidden. The viewer may not even create Promotions; the admin may
// change the Stage.
func TestPromoterCannotEditThroughKubernetes(t *testing.T) {
	startServer(t)
	newProject(t, "kraw")
	createYAML(t, pipelineYAML("kraw"))
	f := newFreight(t, "kraw", "4444444444444444444444444444444444444444", "four", "4.0.0", "test")
	ctx := context.Background()
	promoter, err := env.Impersonate(oidcUser("promoter@kraw.test"))
	must(t, err)
	viewer, err := env.Impersonate(oidcUser("viewer@kraw.test"))
	must(t, err)
	admin, err := env.Impersonate(oidcUser("admin@kraw.test"))
	must(t, err)

	merge := func(body string) client.Patch { return client.RawPatch(types.MergePatchType, []byte(body)) }
	stageSteps := `{"spec":{"promotionTemplate":{"spec":{"steps":[{"uses":"fail","config":{"message":"skipped verification"}}]}}}}`
	stage := &haulv1.Stage{ObjectMeta: metaName("kraw", "test")}
	forged := `{"status":{"approvedFor":{"uat":{"approvedBy":"nobody"}}}}`
	seed := &haulv1.Promotion{
		ObjectMeta: metaName("kraw", "test.seed.4444444"),
		Spec:       haulv1.PromotionSpec{Stage: "test", Freight: f.Name},
	}
	must(t, env.Client.Create(ctx, seed))

	forbidden := map[string]func() error{
		"patch stage spec": func() error { return promoter.Patch(ctx, stage.DeepCopy(), merge(stageSteps)) },
		"annotate stage": func() error {
			return promoter.Patch(ctx, stage.DeepCopy(), merge(`{"metadata":{"annotations":{"haul.dev/refresh":"x"}}}`))
		},
		"patch freights/status": func() error { return promoter.Status().Patch(ctx, f.DeepCopy(), merge(forged)) },
		"patch freight":         func() error { return promoter.Patch(ctx, f.DeepCopy(), merge(`{"alias":"renamed"}`)) },
		"patch warehouse": func() error {
			return promoter.Patch(ctx, &haulv1.Warehouse{ObjectMeta: metaName("kraw", "w")}, merge(`{"spec":{"subscriptions":[{"image":{"repoURL":"evil.example.com/app"}}]}}`))
		},
		"patch promotion": func() error {
			return promoter.Patch(ctx, seed.DeepCopy(), merge(`{"metadata":{"annotations":{"haul.dev/abort":"x"}}}`))
		},
		"delete promotion": func() error { return promoter.Delete(ctx, seed.DeepCopy()) },
		"viewer create promotion": func() error {
			return viewer.Create(ctx, &haulv1.Promotion{ObjectMeta: metaName("kraw", "test.viewer.4444444"), Spec: seed.Spec})
		},
	}
	for name, do := range forbidden {
		if err := do(); !apierrors.IsForbidden(err) {
			t.Errorf("%s as promoter: %v, want Forbidden", name, err)
		}
	}
	got := &haulv1.Freight{}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(f), got))
	if _, ok := got.Status.ApprovedFor["uat"]; ok {
		t.Fatalf("a forged approval landed: %+v", got.Status.ApprovedFor)
	}

	if err := promoter.Get(ctx, client.ObjectKeyFromObject(stage), &haulv1.Stage{}); err != nil {
		t.Errorf("promoter reading a Stage: %v", err)
	}
	promo := &haulv1.Promotion{ObjectMeta: metaName("kraw", "test.promoter.4444444"), Spec: seed.Spec}
	if err := promoter.Create(ctx, promo); err != nil {
		t.Errorf("promoter creating a Promotion: %v", err)
	}
	if err := admin.Patch(ctx, stage.DeepCopy(), merge(stageSteps)); err != nil {
		t.Errorf("admin changing the Stage's steps: %v", err)
	}
}

// TestPromoterActionsAreWrittenByTheServer: the promoter's approve, abort and refresh go
// through the REST API, which writes them with its own rights and records who asked;
// applying changed Stage steps as the promoter leaves the Stage untouched.
func TestPromoterActionsAreWrittenByTheServer(t *testing.T) {
	startServer(t)
	newProject(t, "act")
	createYAML(t, pipelineYAML("act"))
	f := newFreight(t, "act", "5555555555555555555555555555555555555555", "five", "5.0.0")
	ctx := context.Background()
	seed := &haulv1.Promotion{ObjectMeta: metaName("act", "test.seed.5555555"), Spec: haulv1.PromotionSpec{Stage: "test", Freight: f.Name}}
	must(t, env.Client.Create(ctx, seed))
	tok := idToken(t, "promoter@act.test")
	const actor = "api:oidc:promoter@act.test"

	code, b := call(t, "POST", "/api/v1/projects/act/freight/"+f.Name+"/approve", tok, "application/json", `{"stage":"uat"}`)
	if code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, b)
	}
	got := &haulv1.Freight{}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(f), got))
	if a, ok := got.Status.ApprovedFor["uat"]; !ok || a.ApprovedBy != "oidc:promoter@act.test" {
		t.Fatalf("approvedFor = %+v, want uat approved by oidc:promoter@act.test", got.Status.ApprovedFor)
	}

	for _, rq := range []struct {
		path string
		obj  client.Object
		key  string
	}{
		{"/promotions/test.seed.5555555/abort", &haulv1.Promotion{ObjectMeta: seed.ObjectMeta}, haulv1.AnnotationAbort},
		{"/warehouses/w/refresh", &haulv1.Warehouse{ObjectMeta: metaName("act", "w")}, haulv1.AnnotationRefresh},
		{"/stages/uat/refresh", &haulv1.Stage{ObjectMeta: metaName("act", "uat")}, haulv1.AnnotationRefresh},
	} {
		code, b := call(t, "POST", "/api/v1/projects/act"+rq.path, tok, "", "")
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", rq.path, code, b)
		}
		must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(rq.obj), rq.obj))
		if rq.obj.GetAnnotations()[rq.key] == "" || rq.obj.GetAnnotations()[AnnotationActionActor] != actor {
			t.Fatalf("POST %s: annotations %v, want %s set and %s=%s", rq.path, rq.obj.GetAnnotations(), rq.key, AnnotationActionActor, actor)
		}
	}
	// A missing object answers 404, and the server's rights create nothing.
	code, b = call(t, "POST", "/api/v1/projects/act/stages/ghost/refresh", tok, "", "")
	if code != http.StatusNotFound {
		t.Fatalf("refreshing a missing Stage: %d %s, want 404", code, b)
	}

	edit := "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: act}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - uses: fail\n        config: {message: verification skipped}\n"
	code, b = call(t, "POST", "/api/v1/apply", tok, "application/yaml", edit)
	if code != http.StatusForbidden || !strings.Contains(string(b), "stages") {
		t.Fatalf("promoter applying changed Stage steps: %d %s, want 403 naming stages", code, b)
	}
	st := &haulv1.Stage{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "act", Name: "test"}, st))
	if st.Spec.PromotionTemplate != nil && len(st.Spec.PromotionTemplate.Spec.Steps) > 0 {
		t.Fatalf("the promoter's apply changed the Stage's steps: %+v", st.Spec.PromotionTemplate.Spec.Steps)
	}
}
