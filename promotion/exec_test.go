package promotion_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Scenario 29: nothing in a repository, and nothing a step reads, may make the
// controller run a program. Each case here carries an `exec:` section (a kustomize
// function or plugin) or names a Helm plugin scheme; the program it names writes a
// marker file, so a test that only looked at the error could not miss a run.

// execScript writes an executable script under dir that creates marker when run, and
// returns the script's path.
func execScript(t *testing.T, dir, marker string) string {
	t.Helper()
	p := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\ntouch '"+marker+"'\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNotHaveRun(t *testing.T, marker string) {
	t.Helper()
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the program named in the input was executed")
	}
}

// TestKustomizeExecFunctionsAreNeverRun: exec KRM functions in generators,
// transformers and validators, a legacy exec plugin found through the plugin home,
// and a container function are refused with kustomize's "plugins disabled" reason, and
// the program never runs.
func TestKustomizeExecFunctionsAreNeverRun(t *testing.T) {
	for _, field := range []string{"generators", "transformers", "validators"} {
		t.Run("exec function in "+field, func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(t.TempDir(), "ran")
			script := execScript(t, t.TempDir(), marker)
			_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
			_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte("resources:\n- cm.yaml\n"+field+":\n- fn.yaml\n"), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "app/cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "app/fn.yaml"), []byte("apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: fn\n"+
				"  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: "+script+"\n"), 0o644)
			res, _ := runIn(t, dir, freight("1"), nil, step("kustomize-build", "b", map[string]any{"path": "app", "outPath": "out.yaml"}))
			mustNotHaveRun(t, marker)
			mustFail(t, res, "kustomize build app", "external plugins disabled")
		})
	}
	t.Run("container function", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte("generators:\n- fn.yaml\n"), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "app/fn.yaml"), []byte("apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: fn\n"+
			"  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: example.com/evil:1\n"), 0o644)
		res, _ := runIn(t, dir, freight("1"), nil, step("kustomize-build", "b", map[string]any{"path": "app", "outPath": "out.yaml"}))
		mustFail(t, res, "external plugins disabled")
	})
	t.Run("legacy exec plugin in the plugin home", func(t *testing.T) {
		// Kustomize looks legacy plugins up as $KUSTOMIZE_PLUGIN_HOME/<group>/<version>/
		// <lowercase kind>/<Kind>; the repository chooses the kind, the host has the file.
		home := t.TempDir()
		marker := filepath.Join(t.TempDir(), "ran")
		pdir := filepath.Join(home, "example.com", "v1", "run")
		_ = os.MkdirAll(pdir, 0o755)
		script := execScript(t, pdir, marker)
		if err := os.Rename(script, filepath.Join(pdir, "Run")); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KUSTOMIZE_PLUGIN_HOME", home)
		t.Setenv("XDG_CONFIG_HOME", home)
		dir := t.TempDir()
		_ = os.MkdirAll(filepath.Join(dir, "app"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "app/kustomization.yaml"), []byte("generators:\n- fn.yaml\n"), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "app/fn.yaml"), []byte("apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: fn\n"), 0o644)
		res, _ := runIn(t, dir, freight("1"), nil, step("kustomize-build", "b", map[string]any{"path": "app", "outPath": "out.yaml"}))
		mustNotHaveRun(t, marker)
		mustFail(t, res, "external plugins disabled")
	})
}

// TestHelmPluginsAreNeverRun: a chart whose dependency names a repository scheme that
// a Helm downloader plugin on the controller's host serves (helm-secrets' secrets://,
// helm-s3's s3://, ...) must not make helm-update-chart or helm-template run that
// plugin: the plugin would run with the controller's rights and credentials. Helm is
// given no plugins at all, as Kargo does, so the scheme is simply unknown.
func TestHelmPluginsAreNeverRun(t *testing.T) {
	plugins := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	pdir := filepath.Join(plugins, "evil")
	_ = os.MkdirAll(pdir, 0o755)
	execScript(t, pdir, marker)
	if err := os.WriteFile(filepath.Join(pdir, "plugin.yaml"), []byte("name: evil\nversion: 0.1.0\nusage: x\ndescription: x\n"+
		"downloaders:\n- command: run.sh\n  protocols: [haulx]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HELM_PLUGINS", plugins)
	chart := "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.1.0\n  repository: haulx://charts\n"
	for name, c := range map[string]struct {
		step haulv1.PromotionStep
		want string
	}{
		"helm-update-chart": {step("helm-update-chart", "u", map[string]any{"path": "umbrella",
			"charts": []any{map[string]any{"repository": "haulx://charts", "name": "lib", "version": "0.2.0"}}}), `scheme "haulx"`},
		"helm-template": {step("helm-template", "h", map[string]any{"path": "umbrella", "outPath": "out.yaml", "buildDependencies": true}), `scheme "haulx"`},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.MkdirAll(filepath.Join(dir, "umbrella/templates"), 0o755)
			_ = os.WriteFile(filepath.Join(dir, "umbrella/Chart.yaml"), []byte(chart), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "umbrella/values.yaml"), []byte("{}\n"), 0o644)
			res, _ := runIn(t, dir, freight("1"), nil, c.step)
			mustNotHaveRun(t, marker)
			mustFail(t, res, c.want)
			if strings.Contains(res.Message, plugins) {
				t.Fatalf("the message names a host path: %s", res.Message)
			}
		})
	}
}
