package warehouse

import "regexp"

var userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@`)

// redactURL removes user info (which may hold a token) from any URL in s.
func redactURL(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}redacted@")
}
