package generic

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNormalizersMatchKargo: normalizeGit, normalizeImage and normalizeChart give the
// forms Kargo's give (examples from Kargo's pkg/urls tests), so whenExpressions that
// compare their results with literal URLs behave as in Kargo.
func TestNormalizersMatchKargo(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/Acme/App.git/":       "https://github.com/acme/app",
		"https://user:pass@github.com/acme/app":  "https://github.com/acme/app",
		"git@github.com:acme/app.git":            "ssh://git@github.com/acme/app",
		"ssh://git@github.com:22/acme/app.git":   "ssh://git@github.com:22/acme/app",
		"https://github.com/acme/app?x=1":        "https://github.com/acme/app?x=1",
		"  https://github.com/acme/app.git\t\n ": "https://github.com/acme/app",
	} {
		if got := NormalizeGit(in); got != want {
			t.Errorf("normalizeGit(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"docker.io/library/nginx:1.25": "nginx",
		"index.docker.io/acme/api":     "acme/api",
		"nginx":                        "nginx",
		"GHCR.io/Acme/UI:1.0":          "ghcr.io/acme/ui",
		"localhost:5000/app@sha256:" + strings.Repeat("a", 64): "localhost:5000/app",
	} {
		if got := NormalizeImage(in); got != want {
			t.Errorf("normalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"oci://ghcr.io/acme/charts/app":   "ghcr.io/acme/charts/app",
		"https://charts.example.com/Repo": "https://charts.example.com/repo",
	} {
		if got := NormalizeChart(in); got != want {
			t.Errorf("normalizeChart(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRequestEnvironment: request.header is case-insensitive and "" when absent,
// request.headers lists every value, request.params reads the query, request.body is
// the decoded JSON; a whole-expression template must yield a string, one inside text
// is spliced in.
func TestRequestEnvironment(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/x?service=api", nil)
	r.Header.Add("X-Event-Type", "push")
	r.Header.Add("X-Tag", "a")
	r.Header.Add("X-Tag", "b")
	env, err := NewEnv(r, []byte(`{"repo":{"name":"app"},"n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]bool{
		"request.header('x-event-type') == 'push'":               true,
		"request.header('X-Missing') == ''":                      true,
		"request.headers('X-Tag') == ['a', 'b']":                 true,
		"len(request.headers('X-Missing')) == 0":                 true,
		"request.params('service') == 'api'":                     true,
		"request.body.repo.name == 'app' && request.body.n == 3": true,
		"request.header('X-Event-Type') == 'tag'":                false,
	} {
		if got, err := When(src, env); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
	if got, err := Template("wh-${{ request.body.repo.name }}-${{ request.body.n }}", env); err != nil || got != "wh-app-3" {
		t.Errorf("spliced template = %q, %v", got, err)
	}
	if _, err := Template("${{ request.body.n }}", env); err == nil {
		t.Error("a whole-expression template yielding a number was accepted as a name")
	}
	if _, err := NewEnv(r, []byte(`{not json`)); err == nil {
		t.Error("a body that is not JSON was accepted")
	}
}
