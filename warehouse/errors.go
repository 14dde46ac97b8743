package warehouse

import (
	"errors"
	"fmt"
	"time"
)

// RateLimitedError says a registry refused a request with 429, or that the request
// was not sent because the host is paused after an earlier 429, so callers can requeue
// after RetryAfter instead of hammering the registry.
type RateLimitedError struct {
	// Host is the registry or server that rate limited us.
	Host string
	// RetryAfter is how long to wait (Retry-After, capped, or the default pause).
	RetryAfter time.Duration
	// Until is when the host may be asked again (zero when unknown).
	Until time.Time
	// Paused is true when this request was never sent: the host answered 429 to an
	// earlier request, possibly another Warehouse's. The caller then has no new
	// result of its own to show, only a wait.
	Paused bool
}

func (e *RateLimitedError) Error() string {
	switch {
	case e.Paused && !e.Until.IsZero():
		return fmt.Sprintf("waiting for rate limit on host %s until %s", e.Host, e.Until.UTC().Format(time.RFC3339))
	case e.RetryAfter > 0:
		return fmt.Sprintf("rate limited by %s: retry after %s", e.Host, e.RetryAfter)
	}
	return fmt.Sprintf("rate limited by %s", e.Host)
}

// InvalidConstraintError says a subscription field cannot be used as written; retrying
// will not help until the spec changes.
type InvalidConstraintError struct {
	// Field is the path of the offending field, e.g. spec.subscriptions[0].image.constraint.
	Field string
	// Value is what the field holds.
	Value string
	Err   error
}

func (e *InvalidConstraintError) Error() string {
	return fmt.Sprintf("invalid %s %q: %v", e.Field, e.Value, e.Err)
}

func (e *InvalidConstraintError) Unwrap() error { return e.Err }

// IsRateLimited reports whether err (or anything it wraps) is a RateLimitedError, and
// returns it.
func IsRateLimited(err error) (*RateLimitedError, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl, true
	}
	return nil, false
}

// IsInvalidConstraint reports whether err (or anything it wraps) is an InvalidConstraintError.
func IsInvalidConstraint(err error) bool {
	var ic *InvalidConstraintError
	return errors.As(err, &ic)
}

// errTooLarge is returned when a download exceeds its size cap.
type errTooLarge struct {
	what  string
	limit int64
}

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("%s exceeds the size limit of %d bytes", e.what, e.limit)
}
