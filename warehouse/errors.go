package warehouse

import (
	"errors"
	"fmt"
	"time"
)

// RateLimitedError says a registry refused a request with 429 (or asked us to wait), so
// callers can surface a distinct condition and requeue after RetryAfter instead of
// hammering the registry.
type RateLimitedError struct {
	// Host is the registry or server that rate limited us.
	Host string
	// RetryAfter is how long the server asked us to wait (zero if it did not say).
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	if e.RetryAfter > 0 {
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
