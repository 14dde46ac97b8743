package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/promotion"
)

// TestHTTPStepAddressPolicyAndTimeoutThroughTheController (scenario 30) runs the
// controller with DenyPrivateHTTP off and then on (`haul controller
// --deny-private-http`; internal/cli checks that the flag sets it) and promotes through
// http steps, reading what a user sees on the Promotion: loopback is reached only
// with the flag off, the metadata address is refused either way, and a server that
// answers too late ends the step at its timeout with a message naming it.
func TestHTTPStepAddressPolicyAndTimeoutThroughTheController(t *testing.T) {
	var hits atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ok.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	const metadata = "http://169.254.169.254/latest/meta-data/"

	type want struct {
		phase haulv1.PromotionPhase
		msg   []string
		hits  int64
	}
	for _, deny := range []bool{false, true} {
		name := map[bool]string{false: "private allowed", true: "deny-private-http"}[deny]
		t.Run(name, func(t *testing.T) {
			ns := env.Namespace(t, map[bool]string{false: "promo-http-allow", true: "promo-http-deny"}[deny])
			stop := startControllerWith(t, promotion.Options{WorkDir: t.TempDir(), DenyPrivateHTTP: deny})
			defer stop()
			makeFreight(t, ns, "eeeeeeeeeeee1", "1.0.0")
			cases := []struct {
				stage, url string
				want       want
			}{
				{"loopback", ok.URL + "/ready", map[bool]want{
					false: {haulv1.PromotionSucceeded, nil, 1},
					true:  {haulv1.PromotionErrored, []string{ok.URL + "/ready", "not allowed", "loopback", "--deny-private-http"}, 0},
				}[deny]},
				{"metadata", metadata, want{haulv1.PromotionErrored, []string{metadata, "not allowed"}, 0}},
				{"slow", slow.URL + "/wait", map[bool]want{
					false: {haulv1.PromotionErrored, []string{"GET " + slow.URL + "/wait: no complete response within the 1s timeout"}, 1},
					true:  {haulv1.PromotionErrored, []string{slow.URL + "/wait", "not allowed", "--deny-private-http"}, 0},
				}[deny]},
			}
			for _, c := range cases {
				hits.Store(0)
				makeStage(t, ns, c.stage, []haulv1.PromotionStep{rawStep("http", "probe", map[string]any{"url": c.url, "timeout": "1s"})})
				start := time.Now()
				p := waitTerminal(t, ns, promote(t, ns, c.stage, "eeeeeeeeeeee1"), 60*time.Second)
				if p.Status.Phase != c.want.phase {
					t.Fatalf("%s: %s: %s, want %s", c.stage, p.Status.Phase, p.Status.Message, c.want.phase)
				}
				for _, m := range c.want.msg {
					if !strings.Contains(p.Status.Message, m) {
						t.Fatalf("%s: message %q does not contain %q", c.stage, p.Status.Message, m)
					}
				}
				if n := hits.Load(); n != c.want.hits {
					t.Fatalf("%s: the server got %d requests, want %d", c.stage, n, c.want.hits)
				}
				if c.stage == "slow" && time.Since(start) > 30*time.Second {
					t.Fatalf("a 1s timeout took %s", time.Since(start))
				}
			}
		})
	}
}
