package steps

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// helmChartFiles is a chart with two documents in one template, a hook and a test hook.
var helmChartFiles = map[string]string{
	"chart/Chart.yaml":  "apiVersion: v2\nname: app\nversion: 0.1.0\n",
	"chart/values.yaml": "tag: old\n",
	"chart/templates/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: {{ .Release.Namespace }}\ndata:\n  tag: {{ .Values.tag | quote }}\n" +
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n",
	"chart/templates/migrate.yaml":    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec: {}\n",
	"chart/templates/tests/ping.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ping\n  annotations:\n    helm.sh/hook: test\nspec: {}\n",
	"env/uat.yaml":                    "tag: uat\n",
}

func listTree(t *testing.T, dir string) string {
	t.Helper()
	var got []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(got)
	return strings.Join(got, " ")
}

func TestHelmTemplateKargoKeys(t *testing.T) {
	base := func(kv ...any) map[string]any {
		c := map[string]any{"path": "chart", "outPath": "out.yaml", "releaseName": "shop", "namespace": "uat"}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	t.Run("a single file holds hooks unless disabled; skipTests drops test hooks", func(t *testing.T) {
		for name, tc := range map[string]struct {
			cfg           map[string]any
			migrate, ping bool
		}{
			"default":      {base(), true, true},
			"skipTests":    {base("skipTests", true), true, false},
			"disableHooks": {base("disableHooks", true), false, false},
		} {
			t.Run(name, func(t *testing.T) {
				r := newStepRun(t, helmChartFiles)
				r.mustRun(t, helmTemplate, tc.cfg)
				out := r.read(t, "out.yaml")
				if strings.Contains(out, "name: migrate") != tc.migrate || strings.Contains(out, "name: ping") != tc.ping {
					t.Errorf("migrate=%v ping=%v in:\n%s", strings.Contains(out, "name: migrate"), strings.Contains(out, "name: ping"), out)
				}
				if !strings.Contains(out, "name: cfg") || !strings.Contains(out, "name: web") {
					t.Errorf("the templates are missing:\n%s", out)
				}
			})
		}
	})
	t.Run("a directory gets Helm's layout", func(t *testing.T) {
		r := newStepRun(t, helmChartFiles)
		r.mustRun(t, helmTemplate, base("outPath", "out", "skipTests", true))
		if got, want := listTree(t, filepath.Join(r.dir, "out")), "app/templates/app.yaml app/templates/migrate.yaml"; got != want {
			t.Errorf("files = %s, want %s", got, want)
		}
		if got := r.read(t, "out/app/templates/app.yaml"); !strings.Contains(got, "name: cfg") || !strings.Contains(got, "name: web") || !strings.HasPrefix(got, "---\n# Source: app/templates/app.yaml\n") {
			t.Errorf("app.yaml:\n%s", got)
		}
	})
	t.Run("useReleaseName puts the layout under the release", func(t *testing.T) {
		r := newStepRun(t, helmChartFiles)
		r.mustRun(t, helmTemplate, base("outPath", "out", "useReleaseName", true, "disableHooks", true))
		if got, want := listTree(t, filepath.Join(r.dir, "out")), "shop/app/templates/app.yaml"; got != want {
			t.Errorf("files = %s, want %s", got, want)
		}
	})
	t.Run("the flat layout writes a file per resource", func(t *testing.T) {
		r := newStepRun(t, helmChartFiles)
		r.mustRun(t, helmTemplate, base("outPath", "out", "outLayout", "flat"))
		if got, want := listTree(t, filepath.Join(r.dir, "out")), "apps-deployment-web.yaml batch-job-migrate.yaml configmap-uat-cfg.yaml pod-ping.yaml"; got != want {
			t.Errorf("files = %s, want %s", got, want)
		}
	})
	t.Run("ignoreMissingValueFiles skips a missing overlay", func(t *testing.T) {
		r := newStepRun(t, helmChartFiles)
		files := []any{"env/uat.yaml", "env/uat-extra.yaml"}
		_, err := r.run(t, helmTemplate, base("valuesFiles", files))
		wantErr(t, err, "env/uat-extra.yaml does not exist")
		r.mustRun(t, helmTemplate, base("valuesFiles", files, "ignoreMissingValueFiles", true))
		if got := r.read(t, "out.yaml"); !strings.Contains(got, `tag: "uat"`) {
			t.Errorf("the existing values file was not used:\n%s", got)
		}
	})
	t.Run("buildDependencies fills charts/ from a file:// dependency", func(t *testing.T) {
		files := map[string]string{
			"chart/Chart.yaml":         "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.2.0\n  repository: file://../sub\n",
			"chart/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: main\n",
			"sub/Chart.yaml":           "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
			"sub/templates/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-sub\n",
		}
		r := newStepRun(t, files)
		_, err := r.run(t, helmTemplate, base())
		wantErr(t, err, "sub")
		r.mustRun(t, helmTemplate, base("buildDependencies", true))
		if got := r.read(t, "out.yaml"); !strings.Contains(got, "name: from-sub") {
			t.Errorf("the dependency was not rendered:\n%s", got)
		}
		if !r.exists("chart/charts/sub-0.2.0.tgz") {
			t.Error("charts/ holds no packaged dependency")
		}
	})
	for name, tc := range map[string]struct {
		files map[string]string
		cfg   map[string]any
		want  string
	}{
		"an unknown outLayout": {helmChartFiles, base("outPath", "out", "outLayout", "tree"), `outLayout "tree" must be helm or flat`},
		"a file:// dependency outside the work dir": {map[string]string{
			"chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.2.0\n  repository: file://../../../sub\n",
		}, base("buildDependencies", true), "dependencies[].repository"},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			_, err := newStepRun(t, tc.files).run(t, helmTemplate, tc.cfg)
			wantErr(t, err, tc.want)
		})
	}
}
