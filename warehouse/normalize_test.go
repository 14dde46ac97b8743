package warehouse

import "testing"

func TestNormalizeRepoURL(t *testing.T) {
	tests := map[string]string{
		"https://github.com/Acme/App.git":             "github.com/acme/app",
		"https://github.com/acme/app":                 "github.com/acme/app",
		"http://GitHub.com/acme/app/":                 "github.com/acme/app",
		"git@github.com:acme/app.git":                 "github.com/acme/app",
		"ssh://git@github.com:22/acme/app.git":        "github.com/acme/app",
		"https://user:token@gitlab.com/acme/app.git":  "gitlab.com/acme/app",
		"https://gitlab.com:443/acme/app":             "gitlab.com/acme/app",
		"http://127.0.0.1:8080/repo.git":              "127.0.0.1:8080/repo",
		"nginx":                                       "docker.io/library/nginx",
		"nginx:1.25":                                  "docker.io/library/nginx",
		"docker.io/nginx":                             "docker.io/library/nginx",
		"index.docker.io/library/nginx":               "docker.io/library/nginx",
		"registry-1.docker.io/acme/app":               "docker.io/acme/app",
		"acme/app":                                    "docker.io/acme/app",
		"quay.io/acme/app:latest":                     "quay.io/acme/app",
		"ghcr.io/acme/app@sha256:abcd":                "ghcr.io/acme/app",
		"127.0.0.1:5000/demo/app":                     "127.0.0.1:5000/demo/app",
		"localhost/app":                               "localhost/app",
		"oci://127.0.0.1:5000/charts/app":             "127.0.0.1:5000/charts/app",
		"  https://charts.example.com/stable/  ":      "charts.example.com/stable",
		"":                                            "",
		"https://harbor.example.com/proj/app:v1":      "harbor.example.com/proj/app:v1",
		"harbor.example.com/proj/app:v1":              "harbor.example.com/proj/app",
		"harbor.example.com/proj/app@sha256:0123abcd": "harbor.example.com/proj/app",
	}
	for in, want := range tests {
		if got := NormalizeRepoURL(in); got != want {
			t.Errorf("NormalizeRepoURL(%q) = %q, want %q", in, got, want)
		}
	}
}
