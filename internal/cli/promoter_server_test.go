package cli

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server"
)

// TestPromoterActsThroughTheHaulServer: a ServiceAccount bound to haul-promoter may not
// patch Freight status or annotate objects itself, so `haul approve`, `haul refresh`
// and `haul promote --abort` are refused by the cluster with a hint naming
// $HAUL_SERVER; with it set they go through the REST API, which records the account.
// An admin kubeconfig keeps writing directly.
func TestPromoterActsThroughTheHaulServer(t *testing.T) {
	ctx := context.Background()
	const ns = "cli-promoter"
	projectNamespace(t, ns)
	c := env.Client
	for role, rules := range project.RoleRules() {
		must(t, c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role}, Rules: rules}))
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "release-bot"}}
	must(t, c.Create(ctx, sa))
	must(t, c.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "release-bot"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: project.RolePromoter},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "release-bot"}},
	}))
	origin := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}
	must(t, c.Create(ctx, &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"},
		Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: "registry.example.com/app"}}}}}))
	for _, st := range []struct {
		name    string
		sources haulv1.FreightSources
	}{{"test", haulv1.FreightSources{Direct: true}}, {"uat", haulv1.FreightSources{Stages: []string{"test"}}}} {
		must(t, c.Create(ctx, &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: st.name},
			Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{Origin: origin, Sources: st.sources}}}}))
	}
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "6666666666666666666666666666666666666666"},
		Origin:     origin,
		Images:     []haulv1.Image{{RepoURL: "registry.example.com/app", Tag: "6.0.0"}},
	}
	must(t, c.Create(ctx, f))
	seed := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test.seed.6666666"}, Spec: haulv1.PromotionSpec{Stage: "test", Freight: f.Name}}
	must(t, c.Create(ctx, seed))

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	api, err := server.New(server.Config{RestConfig: env.Config, Context: sctx, Logger: logr.Discard()})
	must(t, err)
	ts := httptest.NewServer(api)
	defer ts.Close()

	treq := &authenticationv1.TokenRequest{}
	must(t, c.SubResource("token").Create(ctx, sa, treq))
	tokenCfg := &rest.Config{Host: env.Config.Host, BearerToken: treq.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}}
	h := newHarness(t)
	admin := h.kubeconfig
	h.kubeconfig = writeKubeconfig(t, tokenCfg, "")
	const who = "system:serviceaccount:" + ns + ":release-bot"

	commands := [][]string{
		{"-p", ns, "approve", "--freight", f.Name, "--stage", "uat"},
		{"-p", ns, "refresh", "warehouse", "w"},
		{"-p", ns, "promote", "--abort", seed.Name},
	}
	t.Setenv(haulServerEnv, "")
	for i, args := range commands {
		_, _, err := h.run(args...)
		refusal := "you may not patch"
		if i == 0 {
			refusal = "you may not update" // an approval is written with its resourceVersion
		}
		if err == nil || !strings.Contains(err.Error(), refusal) || !strings.Contains(err.Error(), "set "+haulServerEnv+" to its URL") {
			t.Fatalf("haul %s without %s: %v, want the refusal with a hint", strings.Join(args, " "), haulServerEnv, err)
		}
	}

	t.Setenv(haulServerEnv, ts.URL)
	for _, args := range commands {
		h.mustRun(args...)
	}
	got := &haulv1.Freight{}
	must(t, c.Get(ctx, client.ObjectKeyFromObject(f), got))
	if a, ok := got.Status.ApprovedFor["uat"]; !ok || a.ApprovedBy != who {
		t.Errorf("approvedFor = %+v, want uat approved by %s", got.Status.ApprovedFor, who)
	}
	for _, obj := range []client.Object{&haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}}, &haulv1.Promotion{ObjectMeta: seed.ObjectMeta}} {
		must(t, c.Get(ctx, client.ObjectKeyFromObject(obj), obj))
		if obj.GetAnnotations()[server.AnnotationActionActor] != "api:"+who {
			t.Errorf("%T %s: annotations %v, want the action recorded as api:%s", obj, obj.GetName(), obj.GetAnnotations(), who)
		}
	}

	// An admin kubeconfig (client certificate, no token) still writes directly.
	h.kubeconfig = admin
	h.mustRun("-p", ns, "refresh", "stage", "test")
	st := &haulv1.Stage{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test"}, st))
	if st.Annotations[haulv1.AnnotationRefresh] == "" || st.Annotations[server.AnnotationActionActor] != "" {
		t.Errorf("admin refresh: annotations %v, want a direct write", st.Annotations)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
