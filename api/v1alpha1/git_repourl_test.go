package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestWarehouseGitRepoURLMustBeANetworkRemote: the API server refuses a Warehouse
// whose git subscription names a file:// URL or a host path (which would read
// repositories off the controller's disk), naming the field; network remotes pass.
func TestWarehouseGitRepoURLMustBeANetworkRemote(t *testing.T) {
	ns := env.Namespace(t, "git-repourl")
	for url, accepted := range map[string]bool{
		"https://github.com/acme/gitops.git":     true,
		"http://git.internal:8080/acme/app.git":  true,
		"ssh://git@github.com/acme/gitops.git":   true,
		"git@github.com:acme/gitops.git":         true,
		"deploy@git.example.com:acme/gitops.git": true,
		"file:///var/lib/haul/git-cache/x.git":   false,
		"/var/lib/haul/git-cache/x.git":          false,
		"../other-project/src":                   false,
		"ext::sh -c id":                          false,
		"-uhttps://example.com/x.git":            false,
	} {
		t.Run(url, func(t *testing.T) {
			err := env.Client.Create(context.Background(), warehouse(ns, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url}}))
			switch {
			case accepted && err != nil:
				t.Fatalf("want accepted, got %v", err)
			case !accepted && err == nil:
				t.Fatal("was accepted")
			case !accepted && !strings.Contains(err.Error(), "spec.subscriptions[0].git.repoURL"):
				t.Fatalf("rejection does not name the field: %v", err)
			}
		})
	}
}
