package redact

import (
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every redacted span.
const Mask = "***"

var (
	// scheme://user[:password]@host — the user info may hold a token.
	userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s"']+@`)
	// Authorization: Basic …, Proxy-Authorization: Bearer …, and the bare
	// "Basic <b64>" / "Bearer <tok>" forms servers echo back in bodies.
	schemeTokenRE = regexp.MustCompile(`(?i)\b(basic|bearer|token)(\s+|%20|\+)[A-Za-z0-9+/=._~-]{6,}`)
	// Authorization: Basic|Bearer|Token <value>: after the header name the value is a
	// credential whatever it looks like (base64 of "user:pass" may have no digit).
	authSchemeHeaderRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization"?\s*[:=]\s*"?(?:basic|bearer|token)(?:\s+|%20|\+))[^\s",}]+`)
	// authorization headers with another scheme or none: keep only the header name.
	authHeaderRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization"?\s*[:=]\s*"?)[^\s",}]+`)
	// ?access_token=…&private_token=…&token=…&password=…&sig=…
	queryTokenRE = regexp.MustCompile(`(?i)([?&;](?:access_token|private_token|token|api_key|apikey|password|passwd|secret|sig|signature|x-amz-signature|x-goog-signature)=)[^&\s"'#]+`)
)

// String removes credentials from s: URL user info (https://***@host), Authorization
// headers and bearer/basic tokens, and token-like query parameters.
func String(s string) string {
	if s == "" {
		return s
	}
	s = userinfoRE.ReplaceAllString(s, "${1}"+Mask+"@")
	s = authSchemeHeaderRE.ReplaceAllString(s, "${1}"+Mask)
	s = schemeTokenRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemeTokenRE.FindStringSubmatch(m)
		tok := strings.TrimPrefix(m, sub[1]+sub[2])
		if !tokenLike(tok) {
			return m
		}
		return sub[1] + " " + Mask
	})
	s = authHeaderRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := authHeaderRE.FindStringSubmatch(m)
		rest := strings.TrimPrefix(m, sub[1])
		// Keep the scheme word when schemeTokenRE already masked the token.
		if low := strings.ToLower(rest); low == "basic" || low == "bearer" || low == "token" {
			return m
		}
		return sub[1] + Mask
	})
	return queryTokenRE.ReplaceAllString(s, "${1}"+Mask)
}

// tokenLike tells a credential after "Basic"/"Bearer" from an ordinary word ("basic
// checks"): long, or holding a digit or a base64/JWT punctuation character.
func tokenLike(tok string) bool {
	return len(tok) >= 20 || strings.ContainsAny(tok, "0123456789+/=._-~")
}

// minSecretLen is the shortest Secret value Values masks on its own: shorter values
// ("1", "true") would mangle ordinary text and reveal little.
const minSecretLen = 4

// Values is a set of secret values, such as those read from Secrets by a Promotion's
// expressions, that must never appear in text shown to users. The zero value is
// ready to use and safe for concurrent use.
type Values struct {
	mu   sync.RWMutex
	vals []string // longest first, so a value containing another is masked whole
}

// Add records secret values; short ones are ignored (see minSecretLen). Each value's
// lines are recorded too, so a multi-line secret split across messages stays hidden.
func (v *Values) Add(secrets ...string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := make(map[string]bool, len(v.vals))
	for _, s := range v.vals {
		seen[s] = true
	}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) < minSecretLen || seen[s] {
			return
		}
		seen[s] = true
		v.vals = append(v.vals, s)
	}
	for _, s := range secrets {
		add(s)
		if strings.Contains(s, "\n") {
			for _, line := range strings.Split(s, "\n") {
				add(line)
			}
		}
	}
	sort.Slice(v.vals, func(i, j int) bool { return len(v.vals[i]) > len(v.vals[j]) })
}

// Len reports how many values are recorded.
func (v *Values) Len() int {
	if v == nil {
		return 0
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.vals)
}

// Contains reports whether s holds any recorded value, for callers that must refuse
// to write a secret somewhere (rather than write it masked).
func (v *Values) Contains(s string) bool {
	if v == nil {
		return false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, val := range v.vals {
		if strings.Contains(s, val) {
			return true
		}
	}
	return false
}

// String masks every recorded value in s, then applies String.
func (v *Values) String(s string) string {
	if v != nil {
		v.mu.RLock()
		for _, val := range v.vals {
			if strings.Contains(s, val) {
				s = strings.ReplaceAll(s, val, Mask)
			}
		}
		v.mu.RUnlock()
	}
	return String(s)
}

// Error wraps err so that its message is masked by v (nil v: String only) while
// errors.Is and errors.As still see the chain.
func (v *Values) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, v: v}
}

// Error wraps err so that its message never shows credentials (see String).
func Error(err error) error {
	if err == nil {
		return nil
	}
	var r *redactedError
	if errors.As(err, &r) && r.v == nil {
		return err
	}
	return &redactedError{err: err}
}

type redactedError struct {
	err error
	v   *Values
}

func (e *redactedError) Error() string { return e.v.String(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }
