package warehouse

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryAfterIsHonouredAndCapped: a 429 pauses its host for what Retry-After asks
// (seconds or an HTTP date), never longer than the cap, and for the default pause when
// the header is missing or unreadable; a request during the pause is not sent and says
// it was paused, naming the host and the end of the pause.
func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const pause, maxPause = 20 * time.Second, 5 * time.Minute
	cases := map[string]struct {
		retryAfter string
		want       time.Duration
	}{
		"seconds":             {"90", 90 * time.Second},
		"http date":           {now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		"huge seconds capped": {"999999999999", maxPause},
		"far date capped":     {now.Add(48 * time.Hour).Format(http.TimeFormat), maxPause},
		"missing":             {"", pause},
		"unreadable":          {"soon", pause},
		"zero":                {"0", time.Second},
		"date in the past":    {now.Add(-time.Hour).Format(http.TimeFormat), time.Second},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			defer srv.Close()
			tr := &limitedTransport{base: http.DefaultTransport, limiters: newLimiters(100, pause, maxPause), now: func() time.Time { return now }}
			get := func() error {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v2/", nil)
				resp, err := tr.RoundTrip(req)
				if err == nil {
					_ = resp.Body.Close()
				}
				return err
			}
			rl, ok := IsRateLimited(get())
			if !ok || rl.Paused || rl.RetryAfter != c.want || !rl.Until.Equal(now.Add(c.want)) {
				t.Fatalf("429 with Retry-After %q: %+v; want a pause of %s", c.retryAfter, rl, c.want)
			}
			rl, ok = IsRateLimited(get())
			host := strings.TrimPrefix(srv.URL, "http://")
			want := "waiting for rate limit on host " + host + " until " + now.Add(c.want).Format(time.RFC3339)
			if !ok || !rl.Paused || rl.Error() != want || hits.Load() != 1 {
				t.Fatalf("during the pause: %v (paused %v, %d requests sent); want %q without a request", rl, ok && rl.Paused, hits.Load(), want)
			}
		})
	}
}

// TestErrorBodiesLoseTheCredentialsTheRequestCarried: an error page that repeats the
// Authorization header (Basic or Bearer) or the password reaches callers masked.
func TestErrorBodiesLoseTheCredentialsTheRequestCarried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "you sent "+r.Header.Get("Authorization")+" with password "+pass+" and token "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	tr := &limitedTransport{base: http.DefaultTransport, limiters: newLimiters(100, 0, 0), now: time.Now}
	for name, set := range map[string]func(*http.Request){
		"basic":  func(r *http.Request) { r.SetBasicAuth("robot", "pw-echoed-4711") },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok.echoed.4711") },
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v2/", nil)
			set(req)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			for _, leak := range []string{"pw-echoed-4711", "tok.echoed.4711", "cm9ib3Q6cHctZWNob2VkLTQ3MTE"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("error body %q still shows %q", body, leak)
				}
			}
			if !strings.HasPrefix(string(body), "you sent ***") {
				t.Fatalf("error body %q; want the echoed header masked", body)
			}
		})
	}
}
