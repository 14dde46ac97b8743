package chart_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartPassesOIDCPrefixes: with OIDC enabled the server gets both prefixes, oidc: by
// default, so that ID tokens never name Kubernetes identities such as system:masters.
func TestChartPassesOIDCPrefixes(t *testing.T) {
	var args []string
	for _, u := range render(t, "testdata/full-values.yaml") {
		if u.GetKind() != "Deployment" || !strings.HasSuffix(u.GetName(), "-server") {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			args = append(args, a.(string))
		}
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"--oidc-username-prefix=oidc:", "--oidc-groups-prefix=oidc:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("server args %q lack %q", joined, want)
		}
	}
}
