package forge

import (
	"errors"
	"strings"
	"testing"
)

func TestInferNamesTheForgeFromTheHost(t *testing.T) {
	for url, want := range map[string]string{
		"https://github.com/acme/app.git":                "github",
		"https://acme.ghe.com/acme/app":                  "github",
		"https://github.acme.internal/acme/app":          "github",
		"https://gitlab.com/acme/group/app.git":          "gitlab",
		"https://bitbucket.org/acme/app.git":             "bitbucket",
		"https://dev.azure.com/acme/project/_git/app":    "azure",
		"https://acme.visualstudio.com/project/_git/app": "azure",
		"https://gitea.acme.internal/acme/app.git":       "gitea",
		"https://git.acme.internal/acme/app.git":         "",
	} {
		if got := Infer(url); got != want {
			t.Errorf("Infer(%s) = %q, want %q", url, got, want)
		}
	}
}

func TestNewSplitsTheRepoURLAndRefusesWhatItCannotUse(t *testing.T) {
	r, err := parseRepoURL("http://127.0.0.1:3000/prefix/acme/app.git")
	if err != nil {
		t.Fatal(err)
	}
	if r.base != "http://127.0.0.1:3000/prefix" || r.owner != "acme" || r.name != "app" {
		t.Errorf("parsed %+v, want base http://127.0.0.1:3000/prefix, acme/app", r)
	}
	for name, tc := range map[string]struct {
		opts Options
		want string
		is   error
	}{
		"ssh":            {Options{RepoURL: "ssh://git@github.com/acme/app.git"}, "need an http or https URL", nil},
		"no repository":  {Options{RepoURL: "https://github.com/acme"}, "<owner>/<repository>", nil},
		"unknown host":   {Options{RepoURL: "https://git.acme.internal/acme/app"}, "set provider", ErrUnsupported},
		"unknown name":   {Options{RepoURL: "https://git.acme.internal/acme/app", Provider: "sourcehut"}, `provider "sourcehut"`, ErrUnsupported},
		"credential URL": {Options{RepoURL: "ftp://user:s3cr3t@git.acme.internal/acme/app"}, "REDACTED", nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("err %q shows the password", err)
			}
		})
	}
}
