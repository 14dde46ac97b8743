package stage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// TestVerificationHTTPChecksFollowTheAddressPolicy: the verifier's http checks dial
// through the same guard as promotion steps. Link-local addresses are always refused;
// with DenyPrivateHTTP a real server on 127.0.0.1 is refused before any request,
// without it the same check passes.
func TestVerificationHTTPChecksFollowTheAddressPolicy(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	verify := func(deny bool, url string, extra map[string]any) promotion.Result {
		cfg := map[string]any{"url": url, "timeout": "3s"}
		for k, v := range extra {
			cfg[k] = v
		}
		raw, _ := json.Marshal(cfg)
		v := newStepVerifier(&Reconciler{Options: Options{DenyPrivateHTTP: deny}})
		res, _ := v.Run(context.Background(), promotion.Request{
			Project: "p", Stage: "s", Promotion: "verify", WorkDir: t.TempDir(),
			Steps: []haulv1.PromotionStep{{Uses: "http", As: "check", Config: &apiextensionsv1.JSON{Raw: raw}}},
		})
		return res
	}
	for name, tc := range map[string]struct {
		deny  bool
		url   string
		extra map[string]any
		want  string // empty: succeeds
	}{
		"zoned link-local refused":            {false, "http://[fe80::1%25lo]/", nil, "link-local"},
		"mapped metadata refused":             {false, "http://[::ffff:169.254.169.254]/", nil, "link-local"},
		"loopback refused with deny-private":  {true, srv.URL, nil, "loopback"},
		"repeated check refused too":          {true, srv.URL, map[string]any{"count": 2, "interval": "10ms"}, "loopback"},
		"loopback allowed without the option": {false, srv.URL, nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			before := hits.Load()
			res := verify(tc.deny, tc.url, tc.extra)
			if tc.want == "" {
				if res.Phase != haulv1.PromotionSucceeded {
					t.Fatalf("%s: %s", res.Phase, res.Message)
				}
				return
			}
			if res.Phase == haulv1.PromotionSucceeded || !strings.Contains(res.Message, "not allowed") || !strings.Contains(res.Message, tc.want) {
				t.Fatalf("want a refusal saying %q, got %s: %s", tc.want, res.Phase, res.Message)
			}
			if hits.Load() != before {
				t.Fatal("the refused check reached the server")
			}
		})
	}
}
