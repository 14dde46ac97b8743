package promotion_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func writeChart(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"chart/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"chart/values.yaml":       "name: app\nimage:\n  tag: old\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  tag: {{ .Values.image.tag | quote }}\n",
		"env/test/values.yaml":    "image:\n  tag: from-file\n",
	}
	for p, c := range files {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHelmTemplateRendersWithTheSDK(t *testing.T) {
	dir := t.TempDir()
	writeChart(t, dir)
	res, _ := runIn(t, dir, freight("1.4.0"), nil, step("helm-template", "h", map[string]any{
		"path": "chart", "outPath": "out/app.yaml", "releaseName": "app", "namespace": "test",
		"valuesFiles": []any{"env/test/values.yaml"},
		"setValues":   []any{map[string]any{"key": "image.tag", "value": "${{ imageFrom('example.com/app').tag }}"}},
	}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out/app.yaml"))
	if !strings.Contains(string(b), `tag: "1.4.0"`) || !strings.Contains(string(b), "namespace: test") {
		t.Fatalf("rendered:\n%s", b)
	}
}

func TestHelmTemplateRefusesHostileCharts(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	_ = os.WriteFile(outside, []byte("token: s3cr3t\n"), 0o600)
	// want is the refusal reason: a chart that fails to render for another reason
	// must not count.
	cases := map[string]struct {
		want   string
		mutate func(dir string)
	}{
		"name escaping outPath": {`ConfigMap "../../x": metadata.name is not a valid object name`, func(dir string) {
			_ = os.WriteFile(filepath.Join(dir, "chart/values.yaml"), []byte("name: ../../x\nimage:\n  tag: a\n"), 0o644)
		}},
		"symlinked values outside": {"values.yaml is a symlink leading outside the work directory", func(dir string) {
			_ = os.Remove(filepath.Join(dir, "chart/values.yaml"))
			_ = os.Symlink(outside, filepath.Join(dir, "chart/values.yaml"))
		}},
		"values bomb": {"refusing a possible alias-expansion bomb", func(dir string) {
			bomb := "a: &a [x,x,x,x,x,x,x,x,x]\n"
			prev := "a"
			for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
				bomb += n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n"
				prev = n
			}
			_ = os.WriteFile(filepath.Join(dir, "chart/values.yaml"), []byte(bomb), 0o644)
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeChart(t, dir)
			c.mutate(dir)
			res, _ := runIn(t, dir, freight("1"), nil, step("helm-template", "h", map[string]any{"path": "chart", "outPath": "out.yaml"}))
			mustFail(t, res, c.want)
			if strings.Contains(res.Message, dir) {
				t.Fatalf("error leaks the host path: %s", res.Message)
			}
		})
	}
}

func TestHelmUpdateChartSetsVersionAndVendors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"lib/Chart.yaml":           "apiVersion: v2\nname: lib\nversion: 0.2.0\n",
		"lib/templates/x.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib\n",
		"umbrella/Chart.yaml":      "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n- name: lib # the library\n  version: 0.1.0\n  repository: file://../lib\n",
		"umbrella/values.yaml":     "{}\n",
		"umbrella/templates/.keep": "",
	}
	for p, c := range files {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		_ = os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	fr := freight("1")
	fr.Charts = []haulv1.Chart{{RepoURL: "file://../lib", Name: "lib", Version: "0.2.0"}}
	res, st := runIn(t, dir, fr, nil, step("helm-update-chart", "u", map[string]any{
		"path": "umbrella", "charts": []any{map[string]any{"repository": "file://../lib", "name": "lib"}}}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	// Kargo's output, which a later git-commit takes as its message.
	out, _ := st.Outputs["u"].(map[string]any)
	if msg, want := out["commitMessage"], "Updated chart dependencies for umbrella\n\n- lib: 0.1.0 -> 0.2.0"; msg != want {
		t.Fatalf("commitMessage = %q, want %q", msg, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "umbrella/Chart.yaml"))
	if !strings.Contains(string(b), "version: 0.2.0") || !strings.Contains(string(b), "# the library") {
		t.Fatalf("Chart.yaml:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "umbrella/charts/lib-0.2.0.tgz")); err != nil {
		t.Fatalf("dependency not vendored: %v", err)
	}
}
