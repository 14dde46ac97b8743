package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkValidate measures validating a 300-stage pipeline (a chain plus fan-out),
// the cost paid before every apply.
func BenchmarkValidate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("apiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: app, namespace: demo}\nspec:\n  subscriptions: [{image: {repoURL: ghcr.io/acme/app, constraint: ^1.0.0}}]\n")
	const n = 300
	for i := 0; i < n; i++ {
		src := "{direct: true}"
		if i > 0 {
			src = fmt.Sprintf("{stages: [s%d]}", (i-1)/2)
		}
		fmt.Fprintf(&sb, `---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: s%d, namespace: demo}
spec:
  requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: %s}]
  promotionTemplate:
    spec:
      steps:
      - {uses: git-clone, config: {repoURL: "https://git.example/x.git", checkout: [{branch: "stage/${{ ctx.stage }}"}]}}
      - {uses: git-push, if: "${{ success() }}", config: {path: out}}
`, i, src)
	}
	docs, err := parseAndConvert("bench.yaml", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Validate(docs, Cluster{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/stage")
}
