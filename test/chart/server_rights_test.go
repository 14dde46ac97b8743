package chart_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

// TestChartServerRightsCoverItsActions runs the REST API with exactly the rights the
// chart gives the server's ServiceAccount (its ClusterRole, bound as the chart binds
// it, the server impersonating that ServiceAccount) and has a project admin, signed in
// with OIDC, use every action the server writes with its own identity: answering a
// waiting wait-for-approval step, approving Freight, pausing and resuming a Stage,
// refreshing a Warehouse and a Stage, re-verifying, aborting a Promotion. Each must
// work; a right missing from the chart shows here as a 403 or 500 instead of in a
// user's cluster (answering a wait-for-approval step once needed update, which the
// chart does not grant).
func TestChartServerRightsCoverItsActions(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	ensureNamespaceAndMonitorCRD(t)
	const sa = "haul-server"
	var role *rbacv1.ClusterRole
	for _, u := range render(t, "") {
		if u.GetKind() == "ClusterRole" && strings.HasSuffix(u.GetName(), "-server") {
			role = &rbacv1.ClusterRole{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, role); err != nil {
				t.Fatal(err)
			}
		}
	}
	if role == nil {
		t.Fatal("the chart renders no -server ClusterRole")
	}
	role.ObjectMeta = metav1.ObjectMeta{Name: "rights-test-server"}
	must(t, c.Create(ctx, role))
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rights-test-server"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: namespace}},
	}
	must(t, c.Create(ctx, binding))
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), binding)
		_ = c.Delete(context.Background(), role)
	})

	// A project with the roles the Project controller creates, and its admin.
	const p = "rights"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p, Labels: map[string]string{haulv1.LabelProject: "true"}}}))
	must(t, c.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: p}}))
	for name, rules := range project.RoleRules() {
		must(t, c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: name}, Rules: rules}))
	}
	const admin = "oidc:admin@rights.test"
	must(t, c.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: "haul-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "haul-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: admin}},
	}))
	must(t, c.Create(ctx, &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: "w"},
		Spec:       haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: "registry.example.com/app"}}}},
	}))
	stage := &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: "uat"},
		Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
			Origin:  haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
			Sources: haulv1.FreightSources{Direct: true},
		}}},
	}
	must(t, c.Create(ctx, stage))
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: "a1a1a1a1a1000000000000000000000000000000"},
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "registry.example.com/app", Tag: "1.0.0"}},
	}
	must(t, c.Create(ctx, f))
	pr := promotion.New(stage, f.Name, "api:"+admin)
	must(t, c.Create(ctx, pr))
	pr.Status.Phase = haulv1.PromotionRunning
	pr.Status.Steps = []haulv1.PromotionStep{{Uses: "wait-for-approval", As: "gate",
		Config: &apiextensionsv1.JSON{Raw: []byte(`{"approvers":[{"role":"haul-admin"}]}`)}}}
	must(t, c.Status().Update(ctx, pr))

	issuer, err := testservers.StartOIDCIssuer("haul")
	must(t, err)
	t.Cleanup(func() { _ = issuer.Close() })
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	asServer := rest.CopyConfig(env.Config)
	asServer.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + sa}
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	h, err := server.New(server.Config{
		Context: sctx, RestConfig: asServer, ExternalURL: ts.URL, Logger: logr.Discard(),
		OIDC: &server.OIDCConfig{IssuerURL: issuer.URL, ClientID: "haul", ClientSecret: "s3cret"},
	})
	must(t, err)
	ts.Config.Handler = h
	token, err := issuer.IDToken(map[string]any{"sub": "admin@rights.test", "email": "admin@rights.test"})
	must(t, err)

	base := "/api/v1/projects/" + p
	for _, a := range []struct{ what, path, body string }{
		{"answer the waiting Promotion", base + "/promotions/" + pr.Name + "/respond", `{"action":"approve","message":"ok"}`},
		{"approve Freight", base + "/freight/" + f.Name + "/approve", `{"stage":"uat"}`},
		{"pause the Stage", base + "/stages/uat/pause", `{"reason":"maintenance"}`},
		{"resume the Stage", base + "/stages/uat/resume", ``},
		{"refresh the Warehouse", base + "/warehouses/w/refresh", ``},
		{"refresh the Stage", base + "/stages/uat/refresh", ``},
		{"abort the Promotion", base + "/promotions/" + pr.Name + "/abort", ``},
	} {
		req, err := http.NewRequest(http.MethodPost, ts.URL+a.path, strings.NewReader(a.body))
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the chart's server rights: %d %s", a.what, resp.StatusCode, b)
		}
	}

	got := &haulv1.Promotion{}
	must(t, c.Get(ctx, client.ObjectKeyFromObject(pr), got))
	if !strings.Contains(got.Annotations[haulv1.AnnotationApprovalResponses], admin) {
		t.Errorf("the answer was not recorded: %v", got.Annotations)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
