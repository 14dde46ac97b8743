package webhook

import "testing"

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
