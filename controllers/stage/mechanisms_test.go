package stage_test

import (
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// A Stage written in Kargo's legacy promotionMechanisms shorthand is promoted by the
// expanded steps: the default branch is copied to the write branch with the image set.
func TestLegacyPromotionMechanismsPromote(t *testing.T) {
	startManager(t)
	git, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer git.Close()
	_, err = git.SeedRepo("deploy", map[string]string{
		"env/test/kustomization.yaml": "resources:\n- configmap.yaml\n",
		"env/test/configmap.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
		"README.md":                   "deploy repo\n",
	})
	must(t, err)
	ns := project(t, "legacy", true)
	s := newStage(ns, "test")
	s.Spec.PromotionTemplate = nil
	s.Spec.PromotionMechanisms = &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
		RepoURL:     git.RepoURL("deploy"),
		WriteBranch: "stage/test",
		Kustomize:   &haulv1.KustomizePromotionMechanism{Images: []haulv1.KustomizeImageUpdate{{Image: "registry.example/app", Path: "env/test"}}},
	}}}
	must(t, env.Client.Create(ctx, s))
	f := newFreight(t, ns, "v1")
	waitCurrent(t, ns, "test", f)

	kust, err := git.Show("deploy", "stage/test", "env/test/kustomization.yaml")
	must(t, err)
	if !strings.Contains(kust, "registry.example/app") || !strings.Contains(kust, "newTag: v1") {
		t.Errorf("stage/test kustomization.yaml does not set the Freight's image:\n%s", kust)
	}
	if readme, err := git.Show("deploy", "stage/test", "README.md"); err != nil || readme != "deploy repo" {
		t.Errorf("stage/test lacks the default branch's other files: %q %v", readme, err)
	}
}
