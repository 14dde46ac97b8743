package forge

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRepoURLs feeds New arbitrary repository URLs for the forges whose URLs Haul
// splits itself (Azure DevOps, Bitbucket Cloud): it must never panic, never show a
// password, and an Azure DevOps URL it accepts names an organization URL, a project
// and a repository.
func FuzzRepoURLs(f *testing.F) {
	for _, s := range []string{
		"https://dev.azure.com/acme/Platform/_git/app", "https://acme.visualstudio.com/DefaultCollection/p/_git/r",
		"https://tfs.acme/tfs/c/p/_git/r", "https://dev.azure.com/_git/_git", "https://dev.azure.com//p/_git/r",
		"https://u:s3cr3t@bitbucket.org/acme/app.git", "https://bitbucket.org/a/b/c", "http://[::1]/%zz", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// The password of the URL's user info, when it cannot be told from other
		// parts of the URL.
		secret := ""
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Count(raw, pw) == 1 {
				secret = pw
			}
		}
		for _, provider := range []string{ProviderAzure, ProviderBitbucket} {
			_, err := New(Options{Provider: provider, RepoURL: raw, Password: "tok"})
			if err != nil && secret != "" && strings.Contains(err.Error(), secret) {
				t.Fatalf("%s: error %q shows the password", provider, err)
			}
		}
		r, err := parseAzureRepoURL(raw)
		if err != nil {
			return
		}
		if r.project == "" || r.name == "" || strings.Contains(r.name, "/") {
			t.Fatalf("parseAzureRepoURL(%q) = %+v: empty or nested names", raw, r)
		}
		if u, err := url.Parse(r.orgURL); err != nil || u.Host == "" {
			t.Fatalf("parseAzureRepoURL(%q): organization URL %q is not a URL", raw, r.orgURL)
		}
	})
}
