package testservers

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// HelmRepo is a classic Helm chart repository: it serves a generated index.yaml listing
// the chart versions added with AddChart. Packaged charts are not served; discovery
// only reads the index.
type HelmRepo struct {
	URL      string // http://127.0.0.1:<port>
	srv      *http.Server
	mu       sync.Mutex
	charts   map[string][]string
	version  int // bumped on every change; the index's ETag
	requests atomic.Int64
	// Index, when set, replaces the generated index.yaml body (e.g. to serve a huge one).
	Index func(w http.ResponseWriter)
	// Username and Password, when set, are required with HTTP basic auth.
	Username, Password string
}

// StartHelmRepo starts an empty repository on a free port.
func StartHelmRepo() (*HelmRepo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &HelmRepo{URL: "http://" + ln.Addr().String(), charts: map[string][]string{}}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serve)}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

// AddChart lists versions of the named chart in the index.
func (h *HelmRepo) AddChart(name string, versions ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.charts[name] = append(h.charts[name], versions...)
	h.version++
}

// Requests counts requests served.
func (h *HelmRepo) Requests() int64 { return h.requests.Load() }

// Close stops the server.
func (h *HelmRepo) Close() error { return h.srv.Close() }

func (h *HelmRepo) serve(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if h.Username != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != h.Username || p != h.Password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if r.URL.Path != "/index.yaml" {
		http.NotFound(w, r)
		return
	}
	if h.Index != nil {
		h.Index(w)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	etag := fmt.Sprintf(`"%d"`, h.version)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	names := make([]string, 0, len(h.charts))
	for n := range h.charts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n", n)
		for _, v := range h.charts[n] {
			fmt.Fprintf(&b, "  - name: %s\n    version: %q\n    urls:\n    - charts/%s-%s.tgz\n", n, v, n, v)
		}
	}
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write([]byte(b.String()))
}
