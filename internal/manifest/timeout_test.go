package manifest

import (
	"strings"
	"testing"
)

// TestValidateRefusesStepTimeoutsOver24h: retry.timeout and the http step's timeout and
// pollInterval above 24h are refused before anything is sent, naming field and value;
// 24h itself and expressions pass.
func TestValidateRefusesStepTimeoutsOver24h(t *testing.T) {
	const step = "      - uses: git-push\n        if: ${{ success() }}\n"
	const after = "        config: {path: out, targetBranch: \"${{ 'stage/' + ctx.stage }}\"}\n"
	cases := map[string]struct {
		at, extra string
		want      string
	}{
		"retry.timeout":     {step, "        retry: {timeout: 1000h}\n", "spec.promotionTemplate.spec.steps[1].retry.timeout: 1000h0m0s is longer than the maximum of 24h"},
		"http timeout":      {after, "      - uses: http\n        config: {url: https://x.example, timeout: 1000h}\n", `spec.promotionTemplate.spec.steps[2].config.timeout: "1000h" is longer than the maximum of 24h`},
		"http pollInterval": {after, "      - uses: http\n        config: {url: https://x.example, pollInterval: 25h}\n", `spec.promotionTemplate.spec.steps[2].config.pollInterval: "25h" is longer than the maximum of 24h`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			set := strings.Replace(goodSet, tc.at, tc.at+tc.extra, 1)
			if set == goodSet {
				t.Fatal("fixture changed")
			}
			_, err := Validate(load(t, set), Cluster{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
	ok := strings.Replace(goodSet, after, after+"        retry: {timeout: 24h}\n      - uses: http\n        config: {url: https://x.example, timeout: \"${{ vars.t }}\", pollInterval: 24h}\n", 1)
	if _, err := Validate(load(t, ok), Cluster{}); err != nil {
		t.Fatalf("24h and expressions refused: %v", err)
	}
}
