package warehouse

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/haul-dev/haul/internal/metrics"
)

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
	mu    sync.Mutex
	hosts map[string]*hostLimiter
}

func newLimiters(rps float64) *limiters {
	if rps <= 0 {
		rps = 20
	}
	burst := int(rps)
	if burst < 1 {
		burst = 1
	}
	return &limiters{rps: rps, burst: burst, hosts: map[string]*hostLimiter{}}
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
		return nil, &RateLimitedError{Host: host, RetryAfter: until.Sub(now).Round(time.Second)}
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
		ra := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		wait := ra
		if wait <= 0 {
			wait = 10 * time.Second
		}
		hl.mu.Lock()
		if u := t.now().Add(wait); u.After(hl.until) {
			hl.until = u
		}
		hl.mu.Unlock()
		return nil, &RateLimitedError{Host: host, RetryAfter: wait}
	}
	if t.maxBody > 0 {
		resp.Body = &cappedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody, what: "response from " + host}
	}
	return resp, nil
}

// parseRetryAfter reads either delay-seconds or an HTTP date; it caps absurd values at
// one hour so a hostile server cannot park a Warehouse forever.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		d = 0
	}
	if d > time.Hour {
		d = time.Hour
	}
	return d
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
