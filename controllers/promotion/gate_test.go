package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
)

type gateServer struct {
	*httptest.Server
	ready atomic.Bool
}

func newGate(t testing.TB) *gateServer {
	g := &gateServer{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.ready.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateServer) open() { g.ready.Store(true) }

func removeAll(dir string) error { return os.RemoveAll(dir) }
