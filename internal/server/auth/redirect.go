package auth

import (
	"net/url"
	"strings"
)

// SafeRedirect returns target when it is a same-origin relative path ("/projects/x"),
// and "/" otherwise, so that a login link cannot send the browser to another site.
func SafeRedirect(target string) string {
	if target == "" || len(target) > 2048 || !strings.HasPrefix(target, "/") {
		return "/"
	}
	// "//evil" and "/\evil" are protocol-relative for browsers.
	if strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\") {
		return "/"
	}
	for _, r := range target {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return target
}
