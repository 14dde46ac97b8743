package steps

import (
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/getter"
)

// TestHelmSettingsLoadNoPlugins: the settings the chart steps give Helm load no
// downloader plugin, even with one installed where HELM_PLUGINS points. (The scheme
// check in checkFileDependencies refuses such repositories first; this is the layer
// behind it.)
func TestHelmSettingsLoadNoPlugins(t *testing.T) {
	plugins := t.TempDir()
	pdir := filepath.Join(plugins, "evil")
	_ = os.MkdirAll(pdir, 0o755)
	if err := os.WriteFile(filepath.Join(pdir, "plugin.yaml"), []byte("name: evil\nversion: 0.1.0\nusage: x\ndescription: x\n"+
		"downloaders:\n- command: run.sh\n  protocols: [haulx]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HELM_PLUGINS", plugins)
	if _, err := getter.All(helmSettings(t.TempDir())).ByScheme("haulx"); err == nil {
		t.Fatal("Helm loaded the downloader plugin from HELM_PLUGINS")
	}
	if _, err := getter.All(helmSettings(t.TempDir())).ByScheme("https"); err != nil {
		t.Fatalf("https getter missing: %v", err)
	}
}
