package promotion

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestExpandMechanisms(t *testing.T) {
	repo := "http://git.example/app.git"
	tests := []struct {
		name    string
		mech    *haulv1.PromotionMechanisms
		steps   []string // "uses/as"
		configs map[string]string
		err     string
	}{
		{
			name:  "no mechanisms expands to nothing",
			mech:  nil,
			steps: nil,
		},
		{
			name: "same read and write branch edits in place",
			mech: &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
				RepoURL: repo, ReadBranch: "stage/test", WriteBranch: "stage/test",
				Kustomize: &haulv1.KustomizePromotionMechanism{Images: []haulv1.KustomizeImageUpdate{{Image: "reg/app", Path: "env/test"}}},
			}}},
			steps: []string{"git-clone/clone", "kustomize-set-image/set-image-1", "git-commit/commit", "git-push/push"},
			configs: map[string]string{
				"clone":       `{"checkout":[{"branch":"stage/test","create":true,"path":"out"}],"repoURL":"http://git.example/app.git"}`,
				"set-image-1": `{"images":[{"image":"reg/app"}],"path":"out/env/test"}`,
				"push":        `{"path":"out","targetBranch":"stage/test"}`,
			},
		},
		{
			name: "default read branch is cleared into the write branch, then edited",
			mech: &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
				RepoURL: repo, WriteBranch: "stage/uat",
				Kustomize: &haulv1.KustomizePromotionMechanism{Images: []haulv1.KustomizeImageUpdate{
					{Image: "reg/a", Path: "./env/uat"}, {Image: "reg/b", Path: "env/uat"}, {Image: "reg/c", Path: "base"}}},
			}}},
			steps: []string{"git-clone/clone", "git-clear/clear", "copy/copy", "kustomize-set-image/set-image-1",
				"kustomize-set-image/set-image-2", "git-commit/commit", "git-push/push"},
			configs: map[string]string{
				"clone":       `{"checkout":[{"path":"src"},{"branch":"stage/uat","create":true,"path":"out"}],"repoURL":"http://git.example/app.git"}`,
				"clear":       `{"path":"out"}`,
				"copy":        `{"inPath":"src","outPath":"out"}`,
				"set-image-1": `{"images":[{"image":"reg/c"}],"path":"out/base"}`,
				"set-image-2": `{"images":[{"image":"reg/a"},{"image":"reg/b"}],"path":"out/env/uat"}`,
			},
		},
		{
			name: "helm images become yaml updates with image expressions",
			mech: &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
				RepoURL: repo, ReadBranch: "main", WriteBranch: "stage/prod",
				Helm: &haulv1.HelmPromotionMechanism{Images: []haulv1.HelmImageUpdate{
					{Image: "reg/app", ValuesFilePath: "charts/app/values.yaml", Key: "image.tag", Value: "Tag"},
					{Image: "reg/app", ValuesFilePath: "charts/app/values.yaml", Key: "image.full"}}},
			}}},
			steps: []string{"git-clone/clone", "git-clear/clear", "copy/copy", "yaml-update/update-values-1", "git-commit/commit", "git-push/push"},
			configs: map[string]string{
				"clone":           `{"checkout":[{"branch":"main","path":"src"},{"branch":"stage/prod","create":true,"path":"out"}],"repoURL":"http://git.example/app.git"}`,
				"update-values-1": `{"path":"out/charts/app/values.yaml","updates":[{"key":"image.tag","value":"${{ imageFrom(\"reg/app\").tag }}"},{"key":"image.full","value":"${{ imageFrom(\"reg/app\").repoURL + \":\" + imageFrom(\"reg/app\").tag }}"}]}`,
			},
		},
		{
			name: "argo cd apps sync to the commit pushed by the single repository",
			mech: &haulv1.PromotionMechanisms{
				GitRepoUpdates:   []haulv1.GitRepoUpdate{{RepoURL: repo, ReadBranch: "stage/test", WriteBranch: "stage/test"}},
				ArgoCDAppUpdates: []haulv1.ArgoCDAppUpdate{{AppName: "app-test"}, {AppName: "app-test-2", AppNamespace: "apps"}},
			},
			steps: []string{"git-clone/clone", "git-commit/commit", "git-push/push", "argocd-update/argocd-update-1", "argocd-update/argocd-update-2"},
			configs: map[string]string{
				"argocd-update-1": `{"apps":[{"name":"app-test","namespace":"argocd","sources":[{"desiredRevision":"${{ outputs.push.commit }}","repoURL":"http://git.example/app.git"}]}]}`,
				"argocd-update-2": `{"apps":[{"name":"app-test-2","namespace":"apps","sources":[{"desiredRevision":"${{ outputs.push.commit }}","repoURL":"http://git.example/app.git"}]}]}`,
			},
		},
		{
			name: "two repositories get numbered aliases and apps sync to their own target",
			mech: &haulv1.PromotionMechanisms{
				GitRepoUpdates: []haulv1.GitRepoUpdate{
					{RepoURL: repo, ReadBranch: "x", WriteBranch: "x"},
					{RepoURL: "http://git.example/other.git", ReadBranch: "y", WriteBranch: "y"}},
				ArgoCDAppUpdates: []haulv1.ArgoCDAppUpdate{{AppName: "app", AppNamespace: "argocd"}},
			},
			steps: []string{"git-clone/clone-1", "git-commit/commit-1", "git-push/push-1", "git-clone/clone-2", "git-commit/commit-2", "git-push/push-2", "argocd-update/argocd-update-1"},
			configs: map[string]string{
				"push-2":          `{"path":"out-2","targetBranch":"y"}`,
				"argocd-update-1": `{"apps":[{"name":"app","namespace":"argocd"}]}`,
			},
		},
		{
			name: "an unknown helm value kind names the field",
			mech: &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
				RepoURL: repo, WriteBranch: "w",
				Helm: &haulv1.HelmPromotionMechanism{Images: []haulv1.HelmImageUpdate{{Image: "i", ValuesFilePath: "v.yaml", Key: "k", Value: "Nope"}}},
			}}},
			err: `spec.promotionMechanisms.gitRepoUpdates[0].helm.images[0]: value "Nope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &haulv1.Stage{}
			s.Spec.PromotionMechanisms = tt.mech
			steps, err := ExpandMechanisms(s)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			cfgs := map[string]string{}
			for _, st := range steps {
				got = append(got, st.Uses+"/"+st.As)
				cfgs[st.As] = string(st.Config.Raw)
			}
			if !slices.Equal(got, tt.steps) {
				t.Fatalf("steps = %v\nwant    %v", got, tt.steps)
			}
			for as, want := range tt.configs {
				var a, b any
				_ = json.Unmarshal([]byte(cfgs[as]), &a)
				if err := json.Unmarshal([]byte(want), &b); err != nil {
					t.Fatalf("bad want for %s: %v", as, err)
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Errorf("config of %s = %s\nwant %s", as, ja, jb)
				}
			}
		})
	}
}
