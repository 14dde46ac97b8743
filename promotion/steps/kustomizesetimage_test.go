package steps

import (
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

const twoImages = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
- name: example.com/web
  newName: mirror.example.com/web # pulled through the mirror
  newTag: "1.0"
- name: example.com/api
  newTag: "1.0"
`

func TestKustomizeSetImageAsKargo(t *testing.T) {
	t.Run("entries are replaced whole and the list is sorted", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"k/kustomization.yaml": twoImages})
		res := r.mustRun(t, kustomizeSetImage, map[string]any{"path": "k", "images": []any{
			map[string]any{"image": "example.com/web", "tag": "2.0"},
			map[string]any{"image": "example.com/new", "digest": "sha256:abc"},
		}})
		got := r.read(t, "k/kustomization.yaml")
		api, neu, web := strings.Index(got, "name: example.com/api"), strings.Index(got, "name: example.com/new"), strings.Index(got, "name: example.com/web")
		if api < 0 || neu < api || web < neu {
			t.Fatalf("images not sorted by name:\n%s", got)
		}
		if strings.Contains(got, "mirror.example.com") {
			t.Fatalf("newName survived an entry set without one (Kargo replaces the entry):\n%s", got)
		}
		if !strings.Contains(got, "newTag: \"2.0\"") && !strings.Contains(got, "newTag: 2.0") {
			t.Fatalf("web tag not set:\n%s", got)
		}
		want := "Updated k to use new images\n\n- example.com/new@sha256:abc\n- example.com/web:2.0"
		if res.Output["commitMessage"] != want {
			t.Fatalf("commitMessage = %q, want %q", res.Output["commitMessage"], want)
		}
	})
	t.Run("an asterisk keeps the current newName", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"k/kustomization.yaml": twoImages})
		res := r.mustRun(t, kustomizeSetImage, map[string]any{"path": "k", "images": []any{
			map[string]any{"image": "example.com/web", "tag": "2.0", "newName": "*"},
		}})
		got := r.read(t, "k/kustomization.yaml")
		if !strings.Contains(got, "newName: mirror.example.com/web # pulled through the mirror") {
			t.Fatalf("newName \"*\" did not keep the current name and its comment:\n%s", got)
		}
		if want := "Updated k to use new image\n\n- mirror.example.com/web:2.0"; res.Output["commitMessage"] != want {
			t.Fatalf("commitMessage = %q, want %q", res.Output["commitMessage"], want)
		}
	})
	t.Run("Freight images bring tag and digest", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"k/kustomization.yaml": twoImages})
		r.freight.Images = []haulv1.Image{{RepoURL: "example.com/api", Tag: "3.1", Digest: "sha256:d1"}}
		res := r.mustRun(t, kustomizeSetImage, map[string]any{"path": "k"})
		got := r.read(t, "k/kustomization.yaml")
		if !strings.Contains(got, "newTag: \"3.1\"") || !strings.Contains(got, "digest: sha256:d1") {
			t.Fatalf("want both the tag and the digest from the Freight:\n%s", got)
		}
		if want := "Updated k to use new image\n\n- example.com/api:3.1@sha256:d1"; res.Output["commitMessage"] != want {
			t.Fatalf("commitMessage = %q, want %q", res.Output["commitMessage"], want)
		}
	})
	t.Run("two kustomization files are ambiguous", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"k/kustomization.yaml": twoImages, "k/kustomization.yml": twoImages})
		_, err := r.run(t, kustomizeSetImage, map[string]any{"path": "k", "images": []any{map[string]any{"image": "x", "tag": "1"}}})
		wantErr(t, err, `ambiguous result: found multiple Kustomization files in "k"`, "kustomization.yaml, kustomization.yml")
	})
	t.Run("no kustomization file", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"k/other.yaml": ""})
		_, err := r.run(t, kustomizeSetImage, map[string]any{"path": "k", "images": []any{map[string]any{"image": "x", "tag": "1"}}})
		wantErr(t, err, `could not find any Kustomization files in "k"`)
	})
}
