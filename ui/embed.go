package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// notBuiltPage is served instead of the dashboard when the binary was built without
// running `make ui` first, so that `go build` alone still gives a working server.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Haul</title></head>
<body style="font-family: sans-serif; margin: 3rem">
<h1>Haul</h1>
<p>The dashboard is not built: run <code>make ui</code> and rebuild haul.</p>
<p>The REST API under <code>/api/v1</code> works without it.</p>
</body></html>
`

// contentSecurityPolicy keeps the dashboard to its own origin: no inline scripts, no
// third-party resources, and no framing by other sites.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// Handler serves the embedded dashboard. Paths that name a built file are served as
// that file (hashed files under /assets/ are cached forever); every other path gets
// index.html so that deep links such as /projects/<name> work on reload. The caller
// mounts the REST API and auth routes ahead of it.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "dist" is a constant.
		panic(err)
	}
	return newHandler(sub)
}

// newHandler serves the dashboard from fsys, the contents of the dist directory.
func newHandler(fsys fs.FS) http.Handler {
	index, err := fs.ReadFile(fsys, "index.html")
	built := err == nil
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !built {
			serveHTML(w, r, []byte(notBuiltPage))
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" && name != "README.md" && isFile(fsys, name) {
			if strings.HasPrefix(name, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			files.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			// A missing hashed asset is an old page asking for a previous build's file:
			// answering with index.html would hand HTML to a <script> tag.
			http.NotFound(w, r)
			return
		}
		serveHTML(w, r, index)
	})
}

func serveHTML(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func isFile(fsys fs.FS, name string) bool {
	info, err := fs.Stat(fsys, name)
	return err == nil && !info.IsDir()
}
