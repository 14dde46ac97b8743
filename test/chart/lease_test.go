package chart_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/cli"
)

// TestChartLeaderElectionTimings: controller.leaderElectionTimings reach `haul
// controller` as flags it parses to the same durations; unset, none is passed and the
// controller's own defaults apply.
func TestChartLeaderElectionTimings(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("controller:\n  leaderElectionTimings:\n    leaseDuration: 2m\n    renewDeadline: 90s\n    retryPeriod: 45s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range controllerArgs(t, "") {
		if strings.HasPrefix(a, "--leader-election-") && !strings.HasPrefix(a, "--leader-election-namespace") {
			t.Fatalf("default values pass %s", a)
		}
	}
	args := controllerArgs(t, values)
	cmd, rest, err := cli.NewRootCommand().Find(args)
	if err != nil || cmd.Name() != "controller" {
		t.Fatalf("finding the controller command for %q: %v", args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("haul controller refuses the chart's args %q: %v", args, err)
	}
	for flag, want := range map[string]time.Duration{
		"leader-election-lease-duration": 2 * time.Minute,
		"leader-election-renew-deadline": 90 * time.Second,
		"leader-election-retry-period":   45 * time.Second,
	} {
		if got, err := cmd.Flags().GetDuration(flag); err != nil || got != want {
			t.Errorf("--%s = %v (%v), want %v", flag, got, err, want)
		}
	}
}
