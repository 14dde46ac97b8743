package webhook

import (
	"testing"
)

// FuzzRepoURLs feeds every provider parser arbitrary payloads: they must never panic
// and must either name at least one repository or return an error.
func FuzzRepoURLs(f *testing.F) {
	for _, s := range []string{
		`{"repository":null}`, `{"repository":{"html_url":"https://github.com/a/b"}}`, `{"project":{}}`,
		`{"repository":{"repo_name":"a/b"}}`, `{"docker_url":"quay.io/a/b"}`, `{"event_data":{"resources":[null,{"resource_url":"h/p/r:1"}]}}`,
		`{"repoURLs":["a",null,""]}`, `[]`, `null`, `"x"`, `{"registry_package":{"package_version":null}}`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range []string{GitHub, GitLab, DockerHub, Quay, Harbor, Generic} {
			urls, err := repoURLs(p, []byte(body))
			if err == nil && len(urls) == 0 {
				t.Fatalf("%s: no error and no URLs for %q", p, body)
			}
		}
	})
}
