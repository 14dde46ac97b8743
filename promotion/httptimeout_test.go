package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// TestHTTPStepTimesOutWithAClearMessage (scenario 30): a server that answers too late,
// or sends its body too slowly, ends the http step at its timeout with a message that
// names the URL and the timeout, not a bare "context deadline exceeded".
func TestHTTPStepTimesOutWithAClearMessage(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slowHeaders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slowHeaders.Close()
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		for range 1000 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-release:
				return
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer slowBody.Close()
	for name, url := range map[string]string{"slow headers": slowHeaders.URL + "/wait", "slow body": slowBody.URL + "/trickle"} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			res, _ := runHTTPWith(t, promotion.AddressPolicy{}, map[string]any{"url": url, "timeout": "1s"})
			took := time.Since(start)
			mustFail(t, res, "GET "+url, "no complete response within the 1s timeout")
			if took > 5*time.Second {
				t.Fatalf("the step took %s with a 1s timeout", took)
			}
		})
	}
}
