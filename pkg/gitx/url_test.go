package gitx_test

import (
	"strings"
	"testing"

	"github.com/haul-dev/haul/pkg/gitx"
)

func TestCheckURLAllowsOnlyNetworkRemotes(t *testing.T) {
	for u, want := range map[string]string{
		"https://github.com/acme/gitops.git":      "",
		"http://127.0.0.1:8080/r.git":             "",
		"ssh://git@github.com/acme/gitops.git":    "",
		"git@github.com:acme/gitops.git":          "",
		"github.com:acme/gitops.git":              "",
		"deploy@[::1]:acme/gitops.git":            "",
		"https://user:tok3n@github.com/x.git":     "",
		"file:///var/lib/haul/git-cache/a.git":    "only https, http and ssh remotes are allowed",
		"FILE:///etc":                             "only https, http and ssh remotes are allowed",
		"git://github.com/acme/x.git":             "only https, http and ssh remotes are allowed",
		"/var/lib/haul/git-cache/a.git":           "not local paths",
		"./src":                                   "not local paths",
		"../other/repo.git":                       "not local paths",
		"repo.git":                                "not local paths",
		"ext::sh -c touch% /tmp/x":                "must not contain spaces",
		"ext::sh":                                 "not remote helpers",
		"https::example.com/x":                    "not remote helpers",
		"-uhttps://example.com":                   "must not start with '-'",
		"ssh://-oProxyCommand=x/r":                "must not start with '-'",
		"-oProxyCommand=x@host:r":                 "must not start with '-'",
		"host:":                                   "no repository path",
		"https://example.com/x\n":                 "control characters",
		"https:///no-host":                        "with a host",
		"":                                        "must not be empty",
		"https://user:s3cret@example.com/a b.git": "must not contain spaces",
	} {
		err := gitx.CheckURL("repoURL", u)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q refused: %v", u, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want an error containing %q", u, err, want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("error shows the password: %v", err)
		}
	}
	strict := gitx.RemotePolicy{DenyPlainHTTP: true}
	if err := strict.Check("repoURL", "http://example.com/x.git"); err == nil || !strings.Contains(err.Error(), `repoURL "http://example.com/x.git": plain http remotes are refused`) {
		t.Errorf("DenyPlainHTTP let http through: %v", err)
	}
	if err := strict.Check("repoURL", "https://example.com/x.git"); err != nil {
		t.Errorf("DenyPlainHTTP refused https: %v", err)
	}
}

// FuzzCheckURL: whatever is accepted is a network remote git will not read as a local
// path, a remote helper or an option.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://h/r.git", "git@h:r", "file:///x", "/x", "ext::sh", "h::x", "-x", "ssh://h/r", "a:b/c", "x/y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if gitx.CheckURL("repoURL", u) != nil {
			return
		}
		low := strings.ToLower(u)
		scheme, _, hasScheme := strings.Cut(low, "://")
		switch {
		case strings.HasPrefix(u, "-"), strings.ContainsAny(u, " \t\n\r\x00"):
			t.Fatalf("accepted %q", u)
		case hasScheme && scheme != "https" && scheme != "http" && scheme != "ssh" && !strings.ContainsAny(scheme, "/:@"):
			t.Fatalf("accepted scheme of %q", u)
		case !hasScheme && !strings.Contains(u, ":"):
			t.Fatalf("accepted local path %q", u)
		case !hasScheme && isHelper(u):
			t.Fatalf("accepted remote helper %q", u)
		}
	})
}

// isHelper is git's test for <transport>::<address>: a run of URL scheme characters
// followed by "::".
func isHelper(u string) bool {
	i := 0
	for i < len(u) && (u[i] >= 'a' && u[i] <= 'z' || u[i] >= 'A' && u[i] <= 'Z' || i > 0 && (u[i] >= '0' && u[i] <= '9' || strings.IndexByte("+-.", u[i]) >= 0)) {
		i++
	}
	return strings.HasPrefix(u[i:], "::")
}
