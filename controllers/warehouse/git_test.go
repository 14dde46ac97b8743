package warehouse

import (
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

func TestRetaggedCommitMakesNewFreight(t *testing.T) {
	ns := env.Namespace(t, "wh-retag")
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	sha, err := g.SeedRepo("svc", map[string]string{"main.go": "package main"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Tag("svc", "v1.0.0-rc.1", sha, ""); err != nil {
		t.Fatal(err)
	}
	startController(t, ns, Options{})
	createWarehouse(t, ns, "svc", time.Hour, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{
		RepoURL: g.RepoURL("svc"), CommitSelectionStrategy: haulv1.CommitSelectionSemVer, SemverConstraint: ">=1.0.0-0",
	}})
	eventually(t, 30*time.Second, "Freight for the rc tag", func() bool { return len(listFreight(t, ns)) == 1 })
	// The Freight exists before the Warehouse's status names it, so take the
	// name from the Freight itself.
	first := listFreight(t, ns)[0].Name

	if err := g.Tag("svc", "v1.0.0", sha, ""); err != nil {
		t.Fatal(err)
	}
	refresh(t, ns, "svc")
	eventually(t, 30*time.Second, "Freight for the release tag", func() bool { return len(listFreight(t, ns)) == 2 })
	for _, f := range listFreight(t, ns) {
		if f.Commits[0].ID != sha {
			t.Errorf("Freight %s records %s, want the same commit %s", f.Name, f.Commits[0].ID, sha)
		}
		if f.Name != first && f.Commits[0].Tag != "v1.0.0" {
			t.Errorf("new Freight has tag %s", f.Commits[0].Tag)
		}
	}
	// Rediscovering the same artifacts makes nothing new.
	refresh(t, ns, "svc")
	time.Sleep(2 * time.Second)
	if n := len(listFreight(t, ns)); n != 2 {
		t.Fatalf("%d Freight after a refresh with nothing new", n)
	}
}

func startGitServer(t *testing.T) *testservers.GitServer {
	t.Helper()
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}
