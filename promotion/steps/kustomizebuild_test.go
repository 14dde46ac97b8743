package steps

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestKustomizeBuildOutputFormats(t *testing.T) {
	files := map[string]string{
		"app/kustomization.yaml": "resources:\n- deploy.yaml\n- cm.yaml\n- ns.yaml\n",
		"app/deploy.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec: {}\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop-uat\n",
		"app/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
	}
	list := func(t *testing.T, dir string) string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		return strings.Join(names, " ")
	}
	for name, tc := range map[string]struct {
		format string
		want   string
	}{
		"kargo by default": {"", "namespace-shop.yaml shop-deployment-web.yaml shop-uat-configmap-cfg.yaml"},
		"kargo":            {"kargo", "namespace-shop.yaml shop-deployment-web.yaml shop-uat-configmap-cfg.yaml"},
		"kustomize":        {"kustomize", "shop-uat_v1_configmap_cfg.yaml shop_apps_v1_deployment_web.yaml v1_namespace_shop.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newStepRun(t, files)
			cfg := map[string]any{"path": "app", "outPath": "out"}
			if tc.format != "" {
				cfg["outputFormat"] = tc.format
			}
			r.mustRun(t, kustomizeBuild, cfg)
			if got := list(t, filepath.Join(r.dir, "out")); got != tc.want {
				t.Errorf("files = %s, want %s", got, tc.want)
			}
		})
	}
	for name, tc := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"an unknown outputFormat": {map[string]any{"path": "app", "outPath": "out", "outputFormat": "flat"}, `outputFormat "flat" must be kargo or kustomize`},
		"plugin.helm (refused on purpose)": {
			map[string]any{"path": "app", "outPath": "out", "plugin": map[string]any{"helm": map[string]any{"kubeVersion": "1.30"}}},
			"plugin.helm: Haul's kustomize-build does not inflate Helm charts",
		},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			_, err := newStepRun(t, files).run(t, kustomizeBuild, tc.cfg)
			wantErr(t, err, tc.want)
		})
	}
}
