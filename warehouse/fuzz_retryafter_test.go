package warehouse

import (
	"testing"
	"time"
)

// FuzzRetryAfter feeds registry Retry-After headers to the 429 pause: whatever a
// hostile registry sends, the pause stays between the floor and the cap, so it can
// neither hot-loop the Warehouse nor park it for a year.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "-5", "120", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "soon", " 30 ", "1e3", "0x10"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiters(20, 0, 0)
	f.Fuzz(func(t *testing.T, v string) {
		d := l.pauseFor(v, now)
		if d < minRateLimitPause || d > l.maxPause {
			t.Fatalf("Retry-After %q pauses %s, outside [%s, %s]", v, d, minRateLimitPause, l.maxPause)
		}
		if got, ok := parseRetryAfter(v, now); ok && got > 0 && got < l.maxPause && got > minRateLimitPause && d != got {
			t.Fatalf("Retry-After %q parsed as %s but pauses %s", v, got, d)
		}
	})
}
