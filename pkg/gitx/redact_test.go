package gitx_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"fatal: unable to access 'https://user:ghp_secret@github.com/x.git/'": "fatal: unable to access 'https://***@github.com/x.git/'",
		"Authorization: Basic dXNlcjpwYXNz":                                   "Authorization: Basic ***",
		"no secrets here":                                                     "no secrets here",
	} {
		if got := gitx.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFetchErrorsNeverShowCredentials(t *testing.T) {
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.SeedRepo("r", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	proxy, err := testservers.AuthProxy(srv.URL, "haul", "right")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	repoURL := proxy.URL + "/r.git"
	c := gitx.New(t.TempDir())
	url := strings.Replace(repoURL, "http://", "http://haul:tok3n-in-url@", 1)
	_, err = c.Clone(context.Background(), url, &gitx.Auth{Username: "haul", Password: "wr0ng-pass"}, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
	if err == nil {
		t.Fatal("clone with bad credentials succeeded")
	}
	for _, secret := range []string{"tok3n-in-url", "wr0ng-pass"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks %q: %v", secret, err)
		}
	}
	// The right credentials work.
	if _, err := c.Clone(context.Background(), repoURL, &gitx.Auth{Username: "haul", Password: "right"}, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckoutCommitTagAndDefaultBranch(t *testing.T) {
	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	first, _ := srv.SeedRepo("r", map[string]string{"v": "1"})
	if _, err := srv.Commit("r", "main", map[string]string{"v": "2"}, "two"); err != nil {
		t.Fatal(err)
	}
	c := gitx.New(t.TempDir())
	ctx := context.Background()
	w, err := c.Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Commit: first})
	if err != nil || w.Head(ctx) != first {
		t.Fatalf("checkout of commit: %v", err)
	}
	if _, err := c.Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Commit: strings.Repeat("0", 40)}); err == nil {
		t.Fatal("unknown commit checked out")
	}
	w, err = c.Clone(ctx, srv.RepoURL("r"), nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{})
	if err != nil || w.Branch(ctx) != "main" {
		t.Fatalf("default branch: %v %q", err, w.Branch(ctx))
	}
}
