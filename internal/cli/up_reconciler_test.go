package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpReconcilerFluxRefusesBeforeStarting: `haul up --reconciler flux` without the
// Flux binaries fails at once, naming the directory it looked in and how to build them,
// and has touched nothing: no lock, no logs, no control plane in the data dir. An
// unknown reconciler and flux with --kubeconfig are refused the same way.
func TestUpReconcilerFluxRefusesBeforeStarting(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	binDir := filepath.Join(t.TempDir(), "no-flux-here")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"missing binaries", []string{"--reconciler", "flux", "--flux-bin-dir", binDir},
			[]string{"--flux-bin-dir " + binDir, filepath.Join(binDir, "source-controller"), filepath.Join(binDir, "kustomize-controller"), "make flux"}},
		{"unknown reconciler", []string{"--reconciler", "argo"}, []string{`--reconciler "argo": want none or flux`}},
		{"existing cluster", []string{"--reconciler", "flux", "--kubeconfig", "/some/kubeconfig"}, []string{"--kubeconfig /some/kubeconfig", "install Flux in that cluster"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			h := &harness{t: t}
			start := time.Now()
			_, _, err := h.run(append([]string{"up", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, tc.args...)...)
			if err == nil {
				t.Fatal("haul up started")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("refusing took %s", took)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(dataDir)
				t.Errorf("haul up touched its data dir before refusing: %v", entries)
			}
		})
	}
}
