package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestRoutesByIdentity calls every route as each kind of caller and checks the status:
// anonymous callers get 401, members get what their role allows (403 otherwise), and
// a user of another project, or of none, gets the same 404 as for something that does
// not exist. A promoter may promote, approve, abort and refresh, but neither rename
// Freight nor change a Stage through apply.
func TestRoutesByIdentity(t *testing.T) {
	startServer(t)
	newProject(t, "alpha")
	newProject(t, "beta")
	createYAML(t, pipelineYAML("alpha"))
	newFreight(t, "alpha", "f1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "first", "1.0.0", "test")
	newFreight(t, "alpha", "f2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "second", "2.0.0")
	seed := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: "alpha", Name: "test.seed.f1aaaaa"},
		Spec:       haulv1.PromotionSpec{Stage: "test", Freight: "f1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	}
	must(t, env.Client.Create(context.Background(), seed))

	type who struct {
		name  string
		token string
	}
	callers := []who{
		{"anonymous", ""},
		{"viewer", idToken(t, "viewer@alpha.test")},
		{"promoter", idToken(t, "promoter@alpha.test")},
		{"admin", idToken(t, "admin@alpha.test")},
		{"other-project", idToken(t, "admin@beta.test")},
		{"admin-token", testAdminToken},
		{"no-binding", idToken(t, "nobody@nowhere.test")},
	}
	const (
		a = http.StatusUnauthorized
		n = http.StatusNotFound
		f = http.StatusForbidden
		o = http.StatusOK
		c = http.StatusCreated
	)
	pr := "/api/v1/projects/alpha"
	routes := []struct {
		method, path, body string
		// want is the status per caller, in the order of callers.
		want [7]int
	}{
		{"GET", "/api/v1/whoami", "", [7]int{a, o, o, o, o, o, o}},
		{"GET", "/api/v1/projects", "", [7]int{a, o, o, o, o, o, o}},
		{"GET", pr, "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/projectconfig", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/permissions", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/warehouses", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/warehouses/w", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/stages", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/stages/test", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/freight", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/freight?origin=w", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/freight/first", "", [7]int{a, n, n, n, n, n, n}}, // by name only
		{"GET", pr + "/freight/f1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/promotions", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/promotions?stage=test", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/promotions/test.seed.f1aaaaa", "", [7]int{a, o, o, o, n, o, n}},
		{"GET", pr + "/events", "", [7]int{a, o, o, o, n, o, n}},
		{"POST", pr + "/stages/test/promote", `{"freight":"first"}`, [7]int{a, f, c, c, n, c, n}},
		{"POST", pr + "/stages/test/promote-downstream", `{"freight":"first"}`, [7]int{a, f, c, c, n, c, n}},
		{"POST", pr + "/freight/f2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/approve", `{"stage":"uat"}`, [7]int{a, f, o, o, n, o, n}},
		{"PATCH", pr + "/freight/f2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/alias", `{"alias":"ALIAS"}`, [7]int{a, f, f, o, n, o, n}},
		{"POST", pr + "/promotions/test.seed.f1aaaaa/abort", "", [7]int{a, f, o, o, n, o, n}},
		{"POST", pr + "/warehouses/w/refresh", "", [7]int{a, f, o, o, n, o, n}},
		{"POST", pr + "/stages/test/refresh", "", [7]int{a, f, o, o, n, o, n}},
		{"POST", pr + "/stages/test/reverify", "", [7]int{a, f, o, o, n, o, n}},
		{"POST", pr + "/stages/test/abort-verification", "", [7]int{a, f, o, o, n, o, n}},
		{"POST", "/api/v1/apply", "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: NAME, namespace: alpha}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n", [7]int{a, f, f, o, f, o, f}},
		// Changing an existing Stage's steps is editing it: admins only.
		{"POST", "/api/v1/apply", "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: alpha}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - uses: fail\n        config: {message: by NAME}\n", [7]int{a, f, f, o, f, o, f}},
		{"GET", "/api/v1/nothing-here", "", [7]int{a, n, n, n, n, n, n}},
	}
	for _, rt := range routes {
		for i, caller := range callers {
			t.Run(caller.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				body := strings.ReplaceAll(rt.body, "ALIAS", "alias-"+caller.name)
				body = strings.ReplaceAll(body, "NAME", "applied-"+caller.name)
				ct := "application/json"
				if strings.HasSuffix(rt.path, "/apply") {
					ct = "application/yaml"
				}
				var got int
				var b []byte
				if strings.HasSuffix(rt.path, "/events") {
					got = openStream(t, rt.path, caller.token)
				} else {
					got, b = call(t, rt.method, rt.path, caller.token, ct, body)
				}
				if got != rt.want[i] {
					t.Fatalf("status %d, want %d; body %s", got, rt.want[i], b)
				}
				if got >= 400 && b != nil {
					var e apiError
					if err := json.Unmarshal(b, &e); err != nil || e.Code != got || e.Reason == "" || e.Message == "" {
						t.Fatalf("error body %s is not {code, reason, message} with code %d", b, got)
					}
				}
			})
		}
	}
}

// openStream opens the event stream and returns the status, then hangs up.
func openStream(t *testing.T, path, token string) int {
	ts, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode
}
