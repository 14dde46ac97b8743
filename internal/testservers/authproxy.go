package testservers

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
)

// AuthProxy serves target behind HTTP basic auth with fixed credentials, configured
// before it starts (so tests need not change a running server's fields).
func AuthProxy(target, username, password string) (*httptest.Server, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != username || pass != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	})), nil
}
