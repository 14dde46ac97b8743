package warehouse

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
)

// A Warehouse in one project must not read repositories off the controller's disk
// (another project's checkout, Haul's own caches) by naming a local path.
func TestGitSubscriptionRefusesLocalAndHelperRemotes(t *testing.T) {
	g := startGit(t)
	must[string](t)(g.SeedRepo("app", map[string]string{"a": "1"}))
	bare := filepath.Join(g.Root, "app.git")
	d := New(Options{CacheDir: t.TempDir()})
	for name, url := range map[string]string{
		"file URL":      "file://" + bare,
		"absolute path": bare,
		"relative path": "../" + filepath.Base(g.Root) + "/app.git",
		"ext helper":    "ext::sh -c touch% /tmp/haul-pwned",
		"option":        "--upload-pack=touch /tmp/haul-pwned",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url}}, nil)
			if err == nil {
				t.Fatalf("subscription to %q accepted", url)
			}
			if !IsInvalidConstraint(err) || !strings.Contains(err.Error(), "spec.subscriptions[0].git.repoURL") ||
				!strings.Contains(err.Error(), fmt.Sprintf("%q", url)) {
				t.Fatalf("error does not name the field and value: %v", err)
			}
		})
	}
	_, err := d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "file://" + bare}}, nil)
	if want := "only https, http and ssh remotes are allowed"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("file:// error %v, want %q", err, want)
	}
	strict := New(Options{CacheDir: t.TempDir(), GitRemotes: gitx.RemotePolicy{DenyPlainHTTP: true}})
	_, err = strict.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("app")}}, nil)
	if err == nil || !strings.Contains(err.Error(), "plain http remotes are refused") {
		t.Fatalf("plain http with DenyPlainHTTP: %v", err)
	}
}

// Discovery runs git through the shared git layer: hooks and repository config in its
// cache never run, whoever planted them.
func TestGitDiscoveryRunsNothingPlantedInItsCache(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	m(g.SeedRepo("app", map[string]string{"a": "1"}))
	cacheDir := t.TempDir()
	d := New(Options{CacheDir: cacheDir})
	sub := haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("app")}}
	discover(t, d, sub)
	repos, _ := filepath.Glob(filepath.Join(cacheDir, "git", "*.git"))
	if len(repos) != 1 {
		t.Fatalf("cache holds %v, want one repository", repos)
	}
	marks := t.TempDir()
	hook := fmt.Sprintf("#!/bin/sh\ntouch %q/$(basename \"$0\")\n", marks)
	for _, h := range []string{"reference-transaction", "post-fetch", "pre-auto-gc"} {
		if err := os.WriteFile(filepath.Join(repos[0], "hooks", h), []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.OpenFile(filepath.Join(repos[0], "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fmt.Fprintf(cfg, "[core]\n\tfsmonitor = touch %s/fsmonitor\n[gc]\n\tauto = 1\n", marks)
	_ = cfg.Close()
	next := m(g.Commit("app", "main", map[string]string{"b": "2"}, "two"))
	res := discover(t, d, sub)
	if res.Commits[0].ID != next {
		t.Fatalf("discovered %s, want %s", res.Commits[0].ID, next)
	}
	if got, _ := os.ReadDir(marks); len(got) > 0 {
		t.Fatalf("discovery ran %s planted in its cache", got[0].Name())
	}
}
