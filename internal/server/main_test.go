package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
)

var env *testenv.Env

// TestMain starts the API server once; it stops the Haul server's informers and
// streams before the API server, which otherwise waits for their watches to end.
func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	if testenv.Fuzzing() {
		os.Exit(m.Run())
	}
	e, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	env = e
	code := m.Run()
	stopServer()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stopping:", err)
	}
	os.Exit(code)
}

const (
	testAdminToken = "local-admin-token-for-tests-0123456789"
	testClientID   = "haul-dashboard"
)

var (
	sharedOnce   sync.Once
	sharedErr    error
	sharedIssuer *testservers.OIDCIssuer
	sharedServer *httptest.Server
	sharedCancel context.CancelFunc = func() {}
)

func stopServer() {
	sharedCancel()
	if sharedServer != nil {
		sharedServer.CloseClientConnections()
		sharedServer.Close()
	}
	if sharedIssuer != nil {
		_ = sharedIssuer.Close()
	}
}

// startServer starts, once per package, the test OIDC issuer and the API server
// behind httptest, with both the admin token and OIDC enabled.
func startServer(tb testing.TB) (*httptest.Server, *testservers.OIDCIssuer) {
	tb.Helper()
	sharedOnce.Do(func() {
		sharedIssuer, sharedErr = testservers.StartOIDCIssuer(testClientID)
		if sharedErr != nil {
			return
		}
		ts := httptest.NewUnstartedServer(nil)
		ts.Start()
		var h http.Handler
		var ctx context.Context
		ctx, sharedCancel = context.WithCancel(context.Background())
		h, sharedErr = New(Config{
			Context:    ctx,
			RestConfig: env.Config,
			AdminToken: testAdminToken,
			OIDC:       &OIDCConfig{IssuerURL: sharedIssuer.URL, ClientID: testClientID, ClientSecret: "s3cret"},
			UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "dashboard "+r.URL.Path)
			}),
			ExternalURL: ts.URL,
			Logger:      logr.Discard(),
			Now:         testClock,
		})
		ts.Config.Handler = h
		sharedServer = ts
	})
	if sharedErr != nil {
		tb.Fatalf("starting server: %v", sharedErr)
	}
	return sharedServer, sharedIssuer
}

// clockAt, when set, is the shared server's clock; see setClock.
var clockAt atomic.Pointer[time.Time]

func testClock() time.Time {
	if t := clockAt.Load(); t != nil {
		return *t
	}
	return time.Now()
}

// setClock sets the shared server's clock to at until the test ends.
func setClock(tb testing.TB, at time.Time) {
	tb.Helper()
	clockAt.Store(&at)
	tb.Cleanup(func() { clockAt.Store(nil) })
}

// idToken returns an ID token from the test issuer for user, in groups.
func idToken(tb testing.TB, user string, groups ...string) string {
	tb.Helper()
	_, iss := startServer(tb)
	claims := map[string]any{"sub": user, "email": user}
	if len(groups) > 0 {
		claims["groups"] = groups
	}
	tok, err := iss.IDToken(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// call makes one API request and returns the status and body.
func call(tb testing.TB, method, path, token, contentType, body string) (int, []byte) {
	tb.Helper()
	ts, _ := startServer(tb)
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// newProject creates a project's namespace, Project, roles, and binds the OIDC users
// viewer@<p>.test, promoter@<p>.test and admin@<p>.test to them: as Kubernetes users
// they are oidc:viewer@<p>.test and so on, under the default prefix.
func newProject(tb testing.TB, p string) {
	tb.Helper()
	createProject(tb, p, true)
}

// createProject is newProject with the choice to keep the project after the test.
func createProject(tb testing.TB, p string, cleanup bool) {
	tb.Helper()
	ctx := context.Background()
	c := env.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p, Labels: map[string]string{haulv1.LabelProject: "true"}}}
	must(tb, c.Create(ctx, ns))
	proj := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: p}}
	must(tb, c.Create(ctx, proj))
	if cleanup {
		tb.Cleanup(func() {
			_ = c.Delete(context.Background(), proj)
			_ = c.Delete(context.Background(), ns)
		})
	}
	for role, rules := range project.RoleRules() {
		must(tb, c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: role}, Rules: rules}))
		user := oidcUser(strings.TrimPrefix(role, "haul-") + "@" + p + ".test")
		must(tb, c.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}))
	}
}

// createYAML creates every object of a multi-document YAML string as the cluster admin.
func createYAML(tb testing.TB, docs string) {
	tb.Helper()
	for _, d := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			tb.Fatalf("parsing fixture: %v\n%s", err, d)
		}
		must(tb, env.Client.Create(context.Background(), u))
	}
}

// pipelineYAML is a project with a Warehouse and two Stages, test (direct) and uat
// (after test).
func pipelineYAML(p string) string {
	return strings.ReplaceAll(`
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: NS}
spec:
  subscriptions:
  - image: {repoURL: registry.example.com/app}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: test, namespace: NS}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: uat, namespace: NS}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {stages: [test]}
---
apiVersion: haul.dev/v1alpha1
kind: ProjectConfig
metadata: {name: NS, namespace: NS}
spec: {}
`, "NS", p)
}

// newFreight creates Freight from Warehouse w with one image tag, verified in the
// given stages.
func newFreight(tb testing.TB, p, name, alias, tag string, verifiedIn ...string) *haulv1.Freight {
	tb.Helper()
	ctx := context.Background()
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: name, Labels: map[string]string{haulv1.LabelAlias: alias}},
		Alias:      alias,
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "registry.example.com/app", Tag: tag}},
	}
	must(tb, env.Client.Create(ctx, f))
	if len(verifiedIn) > 0 {
		f.Status.VerifiedIn = map[string]haulv1.VerifiedStage{}
		for _, s := range verifiedIn {
			f.Status.VerifiedIn[s] = haulv1.VerifiedStage{VerifiedAt: &metav1.Time{Time: f.CreationTimestamp.Time}}
		}
		must(tb, env.Client.Status().Update(ctx, f))
	}
	return f
}

// oidcUser is the Kubernetes user name the server impersonates for an OIDC user name.
func oidcUser(name string) string { return auth.DefaultPrefix + name }

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// countPromotions counts the Promotions in project p.
func countPromotions(tb testing.TB, p string) int {
	tb.Helper()
	var l haulv1.PromotionList
	must(tb, env.Client.List(context.Background(), &l, client.InNamespace(p)))
	return len(l.Items)
}

func metaName(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
