package promotion_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// TestKargoDocsOCIPushThenSetImage runs the example of Kargo's oci-push page,
// "Copying to a Per-Stage Repository", through the engine: oci-push copies the
// Freight's image into a per-stage repository of a real registry, and
// kustomize-set-image takes the pushed digest from outputs["push-to-stage"]; then
// Kargo's toml-update example sets a TOML key from the Freight and a later step
// composes both steps' commitMessage outputs, as a git-commit message would.
func TestKargoDocsOCIPushThenSetImage(t *testing.T) {
	reg, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	src := reg.Repo("widget-service")
	digest, err := reg.PushImage("widget-service", "1.4.0", testservers.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for p, c := range map[string]string{
		"out/kustomization.yaml":    "resources:\n- deploy.yaml\n",
		"out/deploy.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
		"src/configs/settings.toml": "# settings\n[image]\ntag = \"1.3.0\" # bumped by promotions\n",
	} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fr := haulv1.FreightReference{Name: "f1", Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images: []haulv1.Image{{RepoURL: src, Tag: "1.4.0", Digest: digest}}}
	res, _ := runIn(t, dir, fr, nil,
		step("oci-push", "push-to-stage", map[string]any{
			"srcRef":  src + "@${{ imageFrom(\"" + src + "\").digest }}",
			"destRef": src + "/${{ ctx.stage }}:${{ imageFrom(\"" + src + "\").tag }}",
		}),
		step("kustomize-set-image", "set", map[string]any{"path": "./out", "images": []any{map[string]any{
			"image": src, "newName": src + "/${{ ctx.stage }}", "digest": `${{ outputs["push-to-stage"].digest }}`,
		}}}),
		step("toml-update", "toml", map[string]any{"path": "./src/configs/settings.toml", "updates": []any{
			map[string]any{"key": "image.tag", "value": `${{ imageFrom("` + src + `").Tag }}`},
		}}),
		step("file-write", "msg", map[string]any{"path": "msg.txt", "contents": `${{ outputs.set.commitMessage + "\n\n" + outputs.toml.commitMessage }}`}),
	)
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	k, _ := os.ReadFile(filepath.Join(dir, "out/kustomization.yaml"))
	if !strings.Contains(string(k), "newName: "+src+"/s") || !strings.Contains(string(k), "digest: "+digest) {
		t.Errorf("kustomization.yaml:\n%s", k)
	}
	toml, _ := os.ReadFile(filepath.Join(dir, "src/configs/settings.toml"))
	if string(toml) != "# settings\n[image]\ntag = \"1.4.0\" # bumped by promotions\n" {
		t.Errorf("settings.toml:\n%s", toml)
	}
	msg, _ := os.ReadFile(filepath.Join(dir, "msg.txt"))
	if !strings.Contains(string(msg), "Updated ./src/configs/settings.toml\n\n- image.tag: \"1.4.0\"") || !strings.Contains(string(msg), "to use new image") {
		t.Errorf("composed commit message = %q", msg)
	}
}
