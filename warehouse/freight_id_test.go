package warehouse

import (
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// The expected IDs were computed outside Go (sha1 of the strings in the comments), straight
// from the definition in api.md, so this test pins the format rather than the code.
func TestFreightID(t *testing.T) {
	wh := func(n string) haulv1.FreightOrigin {
		return haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: n}
	}
	tests := map[string]struct {
		origin  haulv1.FreightOrigin
		images  []haulv1.Image
		commits []haulv1.GitCommit
		charts  []haulv1.Chart
		want    string
	}{
		// Warehouse/app:127.0.0.1:5000/app:1.2.3@sha256:aaaa
		"one image": {
			origin: wh("app"),
			images: []haulv1.Image{{RepoURL: "127.0.0.1:5000/app", Tag: "1.2.3", Digest: "sha256:aaaa"}},
			want:   "b874b3df9423f94d5d930b40ab908f8b18b817d3",
		},
		// Warehouse/app:127.0.0.1:5000/app:1.2.3@sha256:aaaa:frontend
		"named subscription appends its name": {
			origin: wh("app"),
			images: []haulv1.Image{{RepoURL: "127.0.0.1:5000/app", Tag: "1.2.3", Digest: "sha256:aaaa", SubscriptionName: "frontend"}},
			want:   "d63764cc5cee8aa437aed6c0314962cd6a6b5759",
		},
		// Warehouse/other:… — same artifacts, other origin, other ID
		"origin is part of the ID": {
			origin: wh("other"),
			images: []haulv1.Image{{RepoURL: "127.0.0.1:5000/app", Tag: "1.2.3", Digest: "sha256:aaaa"}},
			want:   "aaaaa65de36e8f3551bc2a0cad45c00628e6c103",
		},
		// Warehouse/mixed:http://git.local/repo.git::abc123|http://git.local/repo.git:v1.0.0:def456|
		//   https://charts.local/nginx:1.0.0|reg/a:1@sha256:01|reg/b:2@sha256:02
		"mixed kinds are sorted, untagged commits keep an empty tag part": {
			origin: wh("mixed"),
			images: []haulv1.Image{
				{RepoURL: "reg/b", Tag: "2", Digest: "sha256:02"},
				{RepoURL: "reg/a", Tag: "1", Digest: "sha256:01"},
			},
			commits: []haulv1.GitCommit{
				{RepoURL: "http://git.local/repo.git", Tag: "v1.0.0", ID: "def456", Message: "ignored"},
				{RepoURL: "http://git.local/repo.git", ID: "abc123", Branch: "main"},
			},
			charts: []haulv1.Chart{{RepoURL: "https://charts.local", Name: "nginx", Version: "1.0.0"}},
			want:   "91f00177378b3d276d11670c878948efde68d465",
		},
		// Warehouse/oci:oci://reg/charts/app/:0.1.0
		"oci chart without a name": {
			origin: wh("oci"),
			charts: []haulv1.Chart{{RepoURL: "oci://reg/charts/app", Version: "0.1.0"}},
			want:   "51b2e3d79103c9788201f9d3e327d35cfd60eb95",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := FreightID(tt.origin, tt.images, tt.commits, tt.charts); got != tt.want {
				t.Errorf("FreightID = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAliasIsStableAndUnique(t *testing.T) {
	id := "b874b3df9423f94d5d930b40ab908f8b18b817d3"
	first := Alias(id, func(string) bool { return false })
	if again := Alias(id, func(string) bool { return false }); again != first {
		t.Fatalf("alias not deterministic: %s vs %s", first, again)
	}
	taken := map[string]bool{}
	for i := 0; i < 7000; i++ {
		a := Alias(id, func(s string) bool { return taken[s] })
		if taken[a] {
			t.Fatalf("alias %s handed out twice", a)
		}
		taken[a] = true
	}
}

func TestCriteria(t *testing.T) {
	images := []haulv1.Image{
		{RepoURL: "reg/frontend", Tag: "1.2.0", Digest: "sha256:01"},
		{RepoURL: "reg/backend", Tag: "1.2.0", Digest: "sha256:02"},
	}
	commits := []haulv1.GitCommit{
		{RepoURL: "https://git/x.git", ID: "abc", Tag: "v1", Message: "fix: the bug\n\nlong body"},
		{RepoURL: "https://git/y.git", ID: "def", Tag: "v2"},
	}
	charts := []haulv1.Chart{{RepoURL: "https://charts", Name: "app", Version: "0.1.0"}}
	tests := map[string]struct {
		src  string
		want bool
	}{
		"empty passes":       {"", true},
		"tags match":         {`imageFrom("reg/frontend").tag == imageFrom("reg/backend").tag`, true},
		"tags differ":        {`imageFrom("reg/frontend").tag != imageFrom("reg/backend").tag`, false},
		"commit":             {`commitFrom("https://git/x").tag == "v1"`, true},
		"chart":              {`chartFrom("https://charts", "app").version startsWith "0."`, true},
		"mixed and negative": {`imageFrom("reg/frontend").tag == "9.9.9" || chartFrom("https://charts", "app").version == "1.0.0"`, false},
		// Kargo's field names, as its documentation's examples write them.
		"Kargo: image tags match":   {`imageFrom('reg/frontend').Tag == imageFrom('reg/backend').Tag`, true},
		"Kargo: image digests":      {`imageFrom('reg/frontend').Digest == imageFrom('reg/backend').Digest`, false},
		"Kargo: commit tags differ": {`commitFrom('https://git/x.git').Tag == commitFrom('https://git/y.git').Tag`, false},
		"Kargo: commit subject":     {`commitFrom('https://git/x').Subject == "fix: the bug" && commitFrom('https://git/x').ID == "abc"`, true},
		"Kargo: chart without name": {`chartFrom('https://charts').Version == "0.1.0" && chartFrom('https://charts').Name == "app"`, true},
		"Kargo: nil when missing":   {`(imageFrom('reg/missing')?.Tag ?? "none") == "none"`, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := CompileCriteria(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Allows(images, commits, charts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := CompileCriteria(`imageFrom(`); !IsInvalidConstraint(err) {
		t.Fatalf("syntax error: got %v", err)
	}
	// A field no artifact has is refused when the Warehouse is applied, not read as nil
	// (which made `.Tagg == .Tagg` pass for any two images).
	for _, src := range []string{`imageFrom("reg/frontend").Tagg == "1"`, `commitFrom("https://git/x").Sha == "abc"`, `chartFrom("https://charts", "app", "x").Version == "1"`} {
		if _, err := CompileCriteria(src); !IsInvalidConstraint(err) || !strings.Contains(err.Error(), "spec.freightCreationCriteria.expression") {
			t.Errorf("%s: got %v, want a refusal naming the field", src, err)
		}
	}
	c, _ := CompileCriteria(`imageFrom("reg/missing").tag == "1"`)
	if _, err := c.Allows(images, nil, nil); err == nil {
		t.Fatal("a missing image should be an error, not false")
	}
}
