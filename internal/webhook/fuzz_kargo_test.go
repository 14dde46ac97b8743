package webhook

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzGiteaPayload, FuzzBitbucketPayload, FuzzArtifactoryPayload and FuzzAzurePayload
// feed one new parser each arbitrary bodies: it must never panic and must either name a
// repository or return an error (an ignored event is an error too).
func fuzzProvider(f *testing.F, provider, virtualRepo string, seeds ...string) {
	for _, s := range append(seeds, ``, `null`, `[]`, `{}`, `"x"`) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		urls, err := receiverURLs(provider, virtualRepo, []byte(body))
		if err == nil && len(urls) == 0 {
			t.Fatalf("%s: no error and no URLs for %q", provider, body)
		}
	})
}

func FuzzGiteaPayload(f *testing.F) {
	fuzzProvider(f, Gitea, "", `{"repository":{"clone_url":"https://g/a/b.git"}}`, `{"repository":null}`)
}

func FuzzBitbucketPayload(f *testing.F) {
	fuzzProvider(f, Bitbucket, "", `{"repository":{"links":{"html":{"href":"https://bitbucket.org/a/b"}}}}`,
		`{"repository":{"links":{"clone":[{"href":"x"},null],"html":[]}}}`)
}

func FuzzArtifactoryPayload(f *testing.F) {
	fuzzProvider(f, Artifactory, "virt", `{"domain":"docker","event_type":"pushed","jpd_origin":"https://a.jfrog.io","data":{"path":"a/b/1/manifest.json","repo_key":"r","image_type":"oci"}}`,
		`{"domain":"docker","event_type":"pushed","jpd_origin":"::","data":{"path":"//","image_type":"docker"}}`)
}

func FuzzAzurePayload(f *testing.F) {
	fuzzProvider(f, Azure, "", `{"action":"push","target":{"repository":"a/b"},"request":{"host":"r.azurecr.io"}}`,
		`{"eventType":"git.push","resource":{"repository":{"remoteUrl":"https://dev.azure.com/a/b/_git/c"}}}`, `{"eventType":"git.push","resource":null}`)
}

// FuzzPullRequestEvent feeds the pull request parsers of all five forges arbitrary
// bodies and event keys: never a panic, and an accepted event names at least one
// pull request, each an http(s) URL with a host (a link used only to match waiting
// Promotions, but never one of another scheme).
func FuzzPullRequestEvent(f *testing.F) {
	seeds := []struct{ provider, key, body string }{
		{GitHub, "", `{"action":"closed","pull_request":{"html_url":"https://github.com/a/b/pull/1"}}`},
		{GitLab, "", `{"object_attributes":{"action":"merge","url":"https://gitlab.com/a/b/-/merge_requests/1"}}`},
		{Bitbucket, "pullrequest:fulfilled", `{"pullrequest":{"links":{"html":{"href":"https://bitbucket.org/a/b/pull-requests/1"}}}}`},
		{Azure, "", `{"eventType":"git.pullrequest.merged","resource":{"pullRequestId":1,"status":"completed","repository":{"remoteUrl":"https://o@dev.azure.com/o/p/_git/r"}}}`},
		{Azure, "", `{"resource":{"pullRequestId":1,"repository":{"webUrl":"::","remoteUrl":"javascript:x"}}}`},
	}
	for _, s := range seeds {
		f.Add(s.provider, s.key, s.body)
	}
	f.Fuzz(func(t *testing.T, provider, key, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("X-Event-Key", key)
		ev, err := pullRequestEvent(provider, r, []byte(body))
		if err != nil {
			return
		}
		if len(ev.urls) == 0 {
			t.Fatalf("%s: accepted %q without a pull request", provider, body)
		}
		for _, s := range ev.urls {
			u, perr := url.Parse(s)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				t.Fatalf("%s: accepted pull request link %q", provider, s)
			}
		}
	})
}
