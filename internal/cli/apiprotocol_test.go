package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// TestControllerTalksHTTP1UnlessAskedForHTTP2: `haul controller` gives each API request
// an HTTP/1.1 connection of its own by default, and HTTP/2 with --kube-api-http2,
// against a TLS server that offers both (as kube-apiserver does).
func TestControllerTalksHTTP1UnlessAskedForHTTP2(t *testing.T) {
	protos := make(chan string, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- r.Proto
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, c := range []struct {
		http2 bool
		want  string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}} {
		cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
		setAPIProtocol(cfg, c.http2)
		cfg.GroupVersion = &schema.GroupVersion{Version: "v1"}
		cfg.APIPath = "/api"
		cfg.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: scheme.Codecs}
		rc, err := rest.RESTClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Get().AbsPath("/version").Do(t.Context()).Error(); err != nil {
			t.Fatal(err)
		}
		if got := <-protos; got != c.want {
			t.Fatalf("--kube-api-http2=%v: the controller spoke %s, want %s", c.http2, got, c.want)
		}
	}
}
