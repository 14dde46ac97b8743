package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHandlerServesBuiltDashboard(t *testing.T) {
	h := newHandler(fstest.MapFS{
		"index.html":         {Data: []byte("<html>app</html>")},
		"README.md":          {Data: []byte("readme")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	})
	tests := map[string]struct {
		path      string
		status    int
		body      string
		immutable bool
	}{
		"root serves the app":                       {path: "/", status: 200, body: "app"},
		"deep link to a project serves the app":     {path: "/projects/demo", status: 200, body: "app"},
		"deep link with a query serves the app":     {path: "/projects/demo?stage=prod", status: 200, body: "app"},
		"hashed asset is served and cached forever": {path: "/assets/app-1a2b.js", status: 200, body: "console.log(1)", immutable: true},
		"other static file is served":               {path: "/favicon.svg", status: 200, body: "<svg/>"},
		"missing hashed asset is not found":         {path: "/assets/app-old.js", status: 404},
		"the dist readme is not served as a file":   {path: "/README.md", status: 200, body: "app"},
		"path traversal stays inside dist":          {path: "/../../etc/passwd", status: 200, body: "app"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rec := get(t, h, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("GET %s: status %d, want %d", tt.path, rec.Code, tt.status)
			}
			if tt.body != "" && !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("GET %s: body %q, want it to contain %q", tt.path, rec.Body.String(), tt.body)
			}
			immutable := strings.Contains(rec.Header().Get("Cache-Control"), "immutable")
			if immutable != tt.immutable {
				t.Errorf("GET %s: Cache-Control %q, immutable want %v", tt.path, rec.Header().Get("Cache-Control"), tt.immutable)
			}
		})
	}
}

func TestHandlerIndexHasSecurityHeaders(t *testing.T) {
	h := newHandler(fstest.MapFS{"index.html": {Data: []byte("<html>app</html>")}})
	rec := get(t, h, "/projects/x")
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q does not restrict scripts to the origin", csp)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index.html Cache-Control %q, want no-cache so new builds are picked up", cc)
	}
}

func TestHandlerExplainsHowToBuildWhenNotBuilt(t *testing.T) {
	h := newHandler(fstest.MapFS{"README.md": {Data: []byte("readme")}})
	for _, p := range []string{"/", "/projects/demo"} {
		rec := get(t, h, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", p, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "The dashboard is not built: run <code>make ui</code>") {
			t.Errorf("GET %s: body %q does not say how to build the dashboard", p, rec.Body.String())
		}
	}
}

func TestHandlerRejectsWrites(t *testing.T) {
	h := newHandler(fstest.MapFS{"index.html": {Data: []byte("app")}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/projects/x", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

func TestEmbeddedHandlerWorksWithoutBuild(t *testing.T) {
	// Whatever state ui/dist is in, the embedded handler must answer the root.
	rec := get(t, Handler(), "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: status %d, want 200", rec.Code)
	}
}
