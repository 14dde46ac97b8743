package warehouse

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/redact"
)

// Rate-limit pauses: how long a host is left alone after a 429.
const (
	// DefaultRateLimitPause applies when a 429 carries no usable Retry-After.
	DefaultRateLimitPause = 10 * time.Second
	// DefaultMaxRetryAfter caps what a Retry-After may ask for, so a hostile or
	// misconfigured server cannot park every Warehouse on its host for hours.
	DefaultMaxRetryAfter = 10 * time.Minute
	// minRateLimitPause is the shortest pause, for "Retry-After: 0" and past dates.
	minRateLimitPause = time.Second
)

// maxErrorBody is how much of an error response is kept (and masked) for messages.
const maxErrorBody = 64 << 10

// hostLimiter is the per-host request budget plus the time until which the host asked
// us (with 429 and Retry-After) not to call it.
type hostLimiter struct {
	limiter *rate.Limiter
	mu      sync.Mutex
	until   time.Time
}

// limiters hands out one hostLimiter per host, shared by every subscription, so one
// busy Warehouse cannot push a registry over its limit for the others.
type limiters struct {
	rps   float64
	burst int
	// pause is used for a 429 without a usable Retry-After; maxPause caps one.
	pause, maxPause time.Duration
	mu              sync.Mutex
	hosts           map[string]*hostLimiter
}

func newLimiters(rps float64, pause, maxPause time.Duration) *limiters {
	if rps <= 0 {
		rps = 20
	}
	burst := int(rps)
	if burst < 1 {
		burst = 1
	}
	if maxPause <= 0 {
		maxPause = DefaultMaxRetryAfter
	}
	if pause <= 0 {
		pause = DefaultRateLimitPause
	}
	pause = min(pause, maxPause)
	return &limiters{rps: rps, burst: burst, pause: pause, maxPause: maxPause, hosts: map[string]*hostLimiter{}}
}

// pauseFor is how long to leave a host alone after a 429 with this Retry-After.
func (l *limiters) pauseFor(retryAfter string, now time.Time) time.Duration {
	d, ok := parseRetryAfter(retryAfter, now)
	if !ok {
		return l.pause
	}
	return min(max(d, minRateLimitPause), l.maxPause)
}

func (l *limiters) get(host string) *hostLimiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.hosts[host]
	if !ok {
		h = &hostLimiter{limiter: rate.NewLimiter(rate.Limit(l.rps), l.burst)}
		l.hosts[host] = h
	}
	return h
}

// limitedTransport enforces the per-host rate limit, turns 429 into RateLimitedError
// (remembering Retry-After so later calls fail fast without touching the server), caps
// every response body, and counts requests.
type limitedTransport struct {
	base     http.RoundTripper
	limiters *limiters
	maxBody  int64
	requests *atomic.Int64
	now      func() time.Time
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	hl := t.limiters.get(host)
	hl.mu.Lock()
	until := hl.until
	hl.mu.Unlock()
	if now := t.now(); now.Before(until) {
		// Not sent: another request to this host was answered 429 a moment ago.
		return nil, &RateLimitedError{Host: host, RetryAfter: until.Sub(now).Round(time.Second), Until: until, Paused: true}
	}
	waitStart := time.Now()
	if err := hl.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	metrics.RateLimitWait.WithLabelValues(host).Observe(time.Since(waitStart).Seconds())
	if t.requests != nil {
		t.requests.Add(1)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		metrics.RegistryRequests.WithLabelValues(host, "error").Inc()
		return nil, err
	}
	metrics.RegistryRequests.WithLabelValues(host, strconv.Itoa(resp.StatusCode)).Inc()
	if resp.StatusCode == http.StatusTooManyRequests {
		now := t.now()
		wait := t.limiters.pauseFor(resp.Header.Get("Retry-After"), now)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		until := now.Add(wait)
		hl.mu.Lock()
		if until.After(hl.until) {
			hl.until = until
		}
		hl.mu.Unlock()
		return nil, &RateLimitedError{Host: host, RetryAfter: wait, Until: until}
	}
	if resp.StatusCode >= 400 {
		maskErrorBody(req, resp)
	}
	if t.maxBody > 0 {
		resp.Body = &cappedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody, what: "response from " + host}
	}
	return resp, nil
}

// parseRetryAfter reads either delay-seconds or an HTTP date (ok false when v is
// neither). The caller caps the result.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second) // no overflow below
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// maskErrorBody replaces an error response's body with a masked copy of its start.
// Registries and chart servers have been seen to echo the request's Authorization
// header in error pages, and go-containerregistry copies a body it cannot parse into
// its error text, which ends up in Warehouse status and logs. The credentials this
// request carried are masked wherever they appear, and so is anything that looks like
// one (see redact.String).
func maskErrorBody(req *http.Request, resp *http.Response) {
	var sent redact.Values
	if auth := req.Header.Get("Authorization"); auth != "" {
		sent.Add(auth)
		if _, tok, ok := strings.Cut(auth, " "); ok {
			sent.Add(tok)
		}
	}
	if _, pass, ok := req.BasicAuth(); ok {
		sent.Add(pass)
	}
	if req.URL.User != nil {
		if pass, ok := req.URL.User.Password(); ok {
			sent.Add(pass)
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	masked := sent.String(string(body))
	resp.Body = io.NopCloser(strings.NewReader(masked))
	resp.ContentLength = int64(len(masked))
	resp.Header.Set("Content-Length", strconv.Itoa(len(masked)))
}

// cappedBody fails the read once more than limit bytes were read.
type cappedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
	what  string
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Allow a clean EOF exactly at the limit.
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, &errTooLarge{what: c.what, limit: c.limit}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// newBaseTransport is an HTTP transport with deadlines on every phase, so a server that
// accepts the connection and then stalls cannot hold a worker.
func newBaseTransport(insecureSkipTLSVerify bool, timeout time.Duration) *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}
	if insecureSkipTLSVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opted in per subscription
	}
	return t
}
