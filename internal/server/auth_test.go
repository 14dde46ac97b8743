package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/internal/testservers"
)

// TestTokenEdgeCases feeds the API tokens that must not authenticate anybody, and
// checks that each gets 401 rather than the server's own rights.
func TestTokenEdgeCases(t *testing.T) {
	_, iss := startServer(t)
	stranger, err := testservers.StartOIDCIssuer(testClientID)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	sign := func(claims map[string]any) string {
		tok, err := iss.IDToken(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A token signed by another key but claiming the configured issuer.
	forged, err := stranger.IDToken(map[string]any{"iss": iss.URL, "sub": "x", "email": "admin@alpha.test"})
	if err != nil {
		t.Fatal(err)
	}
	unknownIssuer, err := stranger.IDToken(map[string]any{"sub": "x", "email": "admin@alpha.test"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		header string
		want   int
	}{
		"no credentials":                 {"", http.StatusUnauthorized},
		"not a JWT":                      {"Bearer not-a-jwt", http.StatusUnauthorized},
		"basic auth scheme":              {"Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized},
		"empty bearer":                   {"Bearer ", http.StatusUnauthorized},
		"wrong audience":                 {"Bearer " + sign(map[string]any{"sub": "u", "email": "u@x", "aud": "someone-else"}), http.StatusUnauthorized},
		"expired":                        {"Bearer " + sign(map[string]any{"sub": "u", "email": "u@x", "exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}), http.StatusUnauthorized},
		"signed by an unknown key":       {"Bearer " + forged, http.StatusUnauthorized},
		"unverifiable issuer":            {"Bearer " + unknownIssuer, http.StatusUnauthorized},
		"alg none":                       {"Bearer " + iss.UnsignedToken(map[string]any{"sub": "u", "email": "admin@alpha.test"}), http.StatusUnauthorized},
		"empty user and groups":          {"Bearer " + sign(map[string]any{"sub": "u"}), http.StatusUnauthorized},
		"email not verified":             {"Bearer " + sign(map[string]any{"sub": "u", "email": "u@x", "email_verified": false}), http.StatusUnauthorized},
		"admin token with extra byte":    {"Bearer " + testAdminToken + "x", http.StatusUnauthorized},
		"valid ID token":                 {"Bearer " + sign(map[string]any{"sub": "u", "email": "u@x"}), http.StatusOK},
		"valid ID token with only group": {"Bearer " + sign(map[string]any{"sub": "u", "groups": []string{"team"}}), http.StatusOK},
		"admin token":                    {"Bearer " + testAdminToken, http.StatusOK},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ts, _ := startServer(t)
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/whoami", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusUnauthorized && (body["reason"] != "Unauthorized" || body["message"] == "") {
				t.Fatalf("401 body %v lacks reason and message", body)
			}
		})
	}
	// A group-only identity is named after its subject, and keeps its groups, both
	// under the OIDC prefix.
	code, b := call(t, "GET", "/api/v1/whoami", sign(map[string]any{"sub": "u1", "groups": []string{"team"}}), "", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"username":"oidc:u1"`) || !strings.Contains(string(b), `"oidc:team"`) {
		t.Fatalf("whoami for a group-only token: %d %s", code, b)
	}
}

// TestKubernetesTokenReview authenticates a ServiceAccount token through TokenReview
// and checks the account's rights, not the server's, apply.
func TestKubernetesTokenReview(t *testing.T) {
	startServer(t)
	newProject(t, "tr")
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "tr", Name: "ci"}}
	must(t, env.Client.Create(ctx, sa))
	must(t, env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tr", Name: "ci-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "haul-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "tr", Name: "ci"}},
	}))
	treq := &authenticationv1.TokenRequest{}
	if err := env.Client.SubResource("token").Create(ctx, sa, treq); err != nil {
		t.Fatalf("requesting a ServiceAccount token: %v", err)
	}
	tok := treq.Status.Token
	code, b := call(t, "GET", "/api/v1/whoami", tok, "", "")
	if code != http.StatusOK || !strings.Contains(string(b), "system:serviceaccount:tr:ci") {
		t.Fatalf("whoami with a ServiceAccount token: %d %s", code, b)
	}
	if code, b := call(t, "GET", "/api/v1/projects/tr/stages", tok, "", ""); code != http.StatusOK {
		t.Fatalf("viewer ServiceAccount listing stages: %d %s", code, b)
	}
	if code, b := call(t, "POST", "/api/v1/projects/tr/stages/x/refresh", tok, "", ""); code != http.StatusForbidden {
		t.Fatalf("viewer ServiceAccount refreshing a stage: %d %s, want 403", code, b)
	}
}

// TestNotFoundIsForbidden checks that another project's object answers exactly like a
// missing one, so names cannot be probed.
func TestNotFoundIsForbidden(t *testing.T) {
	startServer(t)
	newProject(t, "nf-a")
	newProject(t, "nf-b")
	createYAML(t, pipelineYAML("nf-a"))
	outsider := idToken(t, "admin@nf-b.test")
	member := idToken(t, "viewer@nf-a.test")
	for _, path := range []string{
		"/api/v1/projects/nf-a/stages/%s",
		"/api/v1/projects/nf-a/warehouses/%s",
	} {
		codeHidden, hidden := call(t, "GET", strings.Replace(path, "%s", "test", 1), outsider, "", "")
		codeMissing, missing := call(t, "GET", strings.Replace(path, "%s", "ghost", 1), member, "", "")
		if codeHidden != http.StatusNotFound || codeMissing != http.StatusNotFound {
			t.Fatalf("%s: statuses %d and %d, want 404", path, codeHidden, codeMissing)
		}
		if strings.ReplaceAll(string(missing), "ghost", "test") != string(hidden) {
			t.Fatalf("bodies differ:\nhidden:  %s\nmissing: %s", hidden, missing)
		}
	}
	codeHidden, hidden := call(t, "GET", "/api/v1/projects/nf-a", outsider, "", "")
	codeMissing, missing := call(t, "GET", "/api/v1/projects/nf-ghost", outsider, "", "")
	if codeHidden != http.StatusNotFound || strings.ReplaceAll(string(missing), "nf-ghost", "nf-a") != string(hidden) || codeMissing != codeHidden {
		t.Fatalf("project bodies differ:\nhidden:  %d %s\nmissing: %d %s", codeHidden, hidden, codeMissing, missing)
	}
	// The project list shows each caller only their projects.
	_, b := call(t, "GET", "/api/v1/projects", outsider, "", "")
	if strings.Contains(string(b), `"name":"nf-a"`) || !strings.Contains(string(b), `"name":"nf-b"`) {
		t.Fatalf("outsider's project list: %s", b)
	}
	_, b = call(t, "GET", "/api/v1/projects", testAdminToken, "", "")
	if !strings.Contains(string(b), `"name":"nf-a"`) || !strings.Contains(string(b), `"name":"nf-b"`) || !strings.Contains(string(b), `"kind":"Project"`) {
		t.Fatalf("admin token's project list: %s", b)
	}
}

// TestOIDCLogin runs the authorization-code flow with PKCE against the test issuer and
// checks the session cookie works and login only redirects to same-origin paths.
func TestOIDCLogin(t *testing.T) {
	ts, iss := startServer(t)
	iss.SetLoginClaims(map[string]any{"sub": "42", "email": "viewer@login.test", "groups": []string{"qa"}})
	cases := map[string]string{
		"/projects/alpha?tab=freight": "/projects/alpha?tab=freight",
		"https://evil.example.com/":   "/",
		"//evil.example.com/x":        "/",
		"/\\evil.example.com":         "/",
		"javascript:alert(1)":         "/",
		"":                            "/",
	}
	for redirectTo, want := range cases {
		t.Run(redirectTo, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			var final *url.URL
			hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				// Stop after the callback's redirect back into the dashboard.
				if strings.HasPrefix(via[len(via)-1].URL.Path, "/auth/callback") {
					final = req.URL
					return http.ErrUseLastResponse
				}
				return nil
			}
			resp, err := hc.Get(ts.URL + "/auth/login?redirectTo=" + url.QueryEscape(redirectTo))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || final == nil {
				t.Fatalf("login ended with %d, want a redirect from the callback", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if loc != want {
				t.Fatalf("redirected to %q, want %q", loc, want)
			}
			u, _ := url.Parse(ts.URL)
			var session *http.Cookie
			for _, c := range jar.Cookies(u) {
				if c.Name == auth.SessionCookie {
					session = c
				}
			}
			if session == nil {
				t.Fatal("no session cookie after login")
			}
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/whoami", nil)
			req.AddCookie(session)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var who map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&who)
			resp.Body.Close()
			if who["username"] != "oidc:viewer@login.test" {
				t.Fatalf("whoami with the session cookie: %v", who)
			}
		})
	}
	// A callback whose state does not match the login in progress is refused.
	resp, err := http.Get(ts.URL + "/auth/callback?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback without a login in progress: %d, want 400", resp.StatusCode)
	}
	code, b := call(t, "GET", "/auth/config", "", "", "")
	if code != http.StatusOK || string(b) != "{\"localToken\":true,\"oidc\":true}\n" {
		t.Fatalf("/auth/config: %d %s", code, b)
	}
}

// TestCookieWritesNeedSameOrigin checks a write riding on the session cookie from
// another site is refused.
func TestCookieWritesNeedSameOrigin(t *testing.T) {
	ts, _ := startServer(t)
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/projects/x/stages/y/refresh", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: testAdminToken})
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin cookie write: %d, want 403", resp.StatusCode)
	}
}
