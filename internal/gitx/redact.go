package gitx

import (
	"errors"
	"regexp"
)

var (
	userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@`)
	authHdrRE  = regexp.MustCompile(`(?i)(authorization:\s*(basic|bearer)\s+)[A-Za-z0-9+/=._~-]+`)
)

// Redact removes credentials from URLs (https://user:token@host → https://***@host)
// and Authorization headers in s.
func Redact(s string) string {
	s = userinfoRE.ReplaceAllString(s, "${1}***@")
	return authHdrRE.ReplaceAllString(s, "${1}***")
}

// redactedError keeps the chain of an error while printing it redacted.
type redactedError struct{ err error }

func (e *redactedError) Error() string { return Redact(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// RedactError wraps err so its message never shows credentials.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	var r *redactedError
	if errors.As(err, &r) {
		return err
	}
	return &redactedError{err: err}
}
