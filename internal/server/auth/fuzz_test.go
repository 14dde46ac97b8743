package auth

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeRedirect checks that whatever a login link carries, the browser is only
// ever sent to a path on this server.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/", "/projects/a", "//evil", "/\\evil", "https://evil", "/%0d%0a", "javascript:x", "/a?b=//c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := SafeRedirect(in)
		if got == "/" {
			return
		}
		if got != in || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.Contains(got, "\\") {
			t.Fatalf("SafeRedirect(%q) = %q", in, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("SafeRedirect(%q) = %q leaves the origin", in, got)
		}
	})
}

// FuzzUnverifiedIssuer feeds arbitrary bearer tokens to the issuer sniffing that runs
// before any verification; it must never panic.
func FuzzUnverifiedIssuer(f *testing.F) {
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("....")
	f.Fuzz(func(t *testing.T, tok string) {
		_ = unverifiedIssuer(tok)
	})
}
