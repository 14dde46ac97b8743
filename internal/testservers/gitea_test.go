package testservers

import (
	"context"
	"testing"
)

func TestStartGiteaServesPushedRepository(t *testing.T) {
	g := StartGitea(t)
	ctx := context.Background()
	if _, err := g.CreateRepo(ctx, "app", map[string]string{"README.md": "hi\n"}); err != nil {
		t.Fatal(err)
	}
	sha, err := g.Push(ctx, "app", "main", "feature", map[string]string{"a.txt": "a\n"}, "add a")
	if err != nil {
		t.Fatal(err)
	}
	head, err := g.BranchHead(ctx, "app", "feature")
	if err != nil {
		t.Fatal(err)
	}
	if head != sha {
		t.Fatalf("feature is at %s in Gitea, pushed %s", head, sha)
	}
}
