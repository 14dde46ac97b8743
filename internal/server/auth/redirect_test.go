package auth

import "testing"

func TestSafeRedirect(t *testing.T) {
	cases := map[string]string{
		"/":                        "/",
		"/projects/a":              "/projects/a",
		"/projects/a?x=1#f":        "/projects/a?x=1#f",
		"":                         "/",
		"https://evil.example.com": "/",
		"http:/evil":               "/",
		"//evil.example.com":       "/",
		"/\\evil.example.com":      "/",
		"\\\\evil":                 "/",
		"javascript:alert(1)":      "/",
		"/ok\r\nSet-Cookie: x=1":   "/",
		"projects/a":               "/",
		"/%2f%2fevil.example.com":  "/%2f%2fevil.example.com",
	}
	for in, want := range cases {
		if got := SafeRedirect(in); got != want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", in, got, want)
		}
	}
}
