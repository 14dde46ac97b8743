package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// TestCommitsTakeTheClusterConfigGitClientUnlessAStepNamesAnAuthor: with a
// ClusterConfig gitClient, a git-clone and git-commit that name no author commit (and
// push to a real Git server) as the gitClient; a step's author wins over it.
func TestCommitsTakeTheClusterConfigGitClientUnlessAStepNamesAnAuthor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()

	// The API server refuses a gitClient whose email is not one, naming the field.
	bad := &haulv1.ClusterConfig{ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName},
		Spec: haulv1.ClusterConfigSpec{GitClient: &haulv1.GitClient{Name: "Release Bot", Email: "not an email"}}}
	if err := env.Client.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "spec.gitClient.email") {
		t.Fatalf("a bad email was not refused naming spec.gitClient.email: %v", err)
	}
	cc := &haulv1.ClusterConfig{ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName},
		Spec: haulv1.ClusterConfigSpec{GitClient: &haulv1.GitClient{Name: "Release Bot", Email: "release-bot@example.com"}}}
	if err := env.Client.Create(ctx, cc); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}

	srv, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := srv.SeedRepo("gitops", map[string]string{"values.yaml": "tag: 1\n"}); err != nil {
		t.Fatal(err)
	}
	repo := srv.RepoURL("gitops")
	cache := gitx.New(filepath.Join(t.TempDir(), "cache"))
	withCluster := &promotion.Services{Git: cache, Dynamic: dyn}
	withoutCluster := &promotion.Services{Git: cache}

	author := func(name, email string) map[string]any { return map[string]any{"name": name, "email": email} }
	cases := []struct {
		name                  string
		cloneSvc, commitSvc   *promotion.Services
		cloneAuthor, stepAuth map[string]any
		want                  string
	}{
		{"no author anywhere: the gitClient", withCluster, withCluster, nil, nil, "Release Bot <release-bot@example.com>"},
		{"git-commit's author wins", withCluster, withCluster, nil, author("Alice", "alice@example.com"), "Alice <alice@example.com>"},
		{"git-clone's author wins", withCluster, withCluster, author("Bob", "bob@example.com"), nil, "Bob <bob@example.com>"},
		{"a tree cloned without one commits as the gitClient", withoutCluster, withCluster, nil, nil, "Release Bot <release-bot@example.com>"},
		{"no cluster access: Haul's own", withoutCluster, withoutCluster, nil, nil, "Haul <haul@haul.dev>"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newStepRun(t, nil)
			clone := map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}
			if c.cloneAuthor != nil {
				clone["author"] = c.cloneAuthor
			}
			if _, err := r.runWith(t, c.cloneSvc, gitClone, clone); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.dir, "src/values.yaml"), []byte("tag: "+string(rune('2'+i))+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			commit := map[string]any{"path": "src", "message": "bump"}
			if c.stepAuth != nil {
				commit["author"] = c.stepAuth
			}
			if _, err := r.runWith(t, c.commitSvc, gitCommit, commit); err != nil {
				t.Fatal(err)
			}
			if _, err := r.runWith(t, c.commitSvc, gitPush, map[string]any{"path": "src"}); err != nil {
				t.Fatal(err)
			}
			got, err := testservers.Git(filepath.Join(srv.Root, "gitops.git"), "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")
			if err != nil {
				t.Fatal(err)
			}
			if want := c.want + "|" + c.want; strings.TrimSpace(got) != want {
				t.Fatalf("pushed commit's author|committer = %q, want %q", strings.TrimSpace(got), want)
			}
		})
	}
}
