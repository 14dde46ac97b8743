package steps

import (
	"testing"

	"github.com/haul-dev/haul/pkg/forge"
)

// TestGitOpenPROutputsOlderKargosPRNumber: configurations written for older Kargo
// (akuity/kargo-simple's prod Stage) pass `task.outputs['open-pr'].prNumber` to
// git-wait-for-pr; git-open-pr gives it, equal to Kargo's current pr.id, both when it
// opens a pull request and when it adopts the one already open.
func TestGitOpenPROutputsOlderKargosPRNumber(t *testing.T) {
	pr := &forge.PullRequest{Number: 42, URL: "https://git.example/acme/gitops/pulls/42", State: forge.StateOpen}
	for _, created := range []bool{true, false} {
		out := openedResult(pr, created).Output
		id := out["pr"].(map[string]any)["id"]
		if out["prNumber"] != int64(42) || id != int64(42) {
			t.Errorf("created=%v: prNumber %#v and pr.id %#v, want both 42", created, out["prNumber"], id)
		}
	}
}
