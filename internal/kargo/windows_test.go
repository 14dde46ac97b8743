package kargo

import (
	"strings"
	"testing"
)

// TestClusterConfigWindowsConvertAndTheRestIsRefused: Kargo's ClusterConfig becomes
// Haul's with its promotionWindows, webhookReceivers and Git identity; its signing key
// and links are refused naming the field; a ProjectConfig window may not select
// projects.
func TestClusterConfigWindowsConvertAndTheRestIsRefused(t *testing.T) {
	res := convertOne(t, `
apiVersion: kargo.akuity.io/v1alpha1
kind: ClusterConfig
metadata: {name: cluster}
spec:
  promotionWindows:
  - {name: freeze, kind: Deny, projectSelector: {name: "glob:bank-*"}, dtstart: "20261224T000000Z", dtend: "20261227T000000Z"}
  webhookReceivers:
  - {name: gh, github: {secretRef: {name: gh-secret}}}
  gitClient: {name: Kargo, email: no-reply@kargo.io}
`)
	if len(res) != 1 || res[0].Object["apiVersion"] != "haul.dev/v1alpha1" || res[0].Object["kind"] != "ClusterConfig" {
		t.Fatalf("converted = %v", res)
	}
	spec, _ := res[0].Object["spec"].(map[string]any)
	if ws, _ := spec["promotionWindows"].([]any); len(ws) != 1 {
		t.Fatalf("promotionWindows = %v", spec["promotionWindows"])
	}
	if rs, _ := spec["webhookReceivers"].([]any); len(rs) != 1 {
		t.Fatalf("webhookReceivers = %v", spec["webhookReceivers"])
	}
	if gc, _ := spec["gitClient"].(map[string]any); gc["name"] != "Kargo" || gc["email"] != "no-reply@kargo.io" {
		t.Fatalf("gitClient = %v", spec["gitClient"])
	}
	for field, y := range map[string]string{
		"spec.gitClient.signingKeySecret":          `{apiVersion: kargo.akuity.io/v1alpha1, kind: ClusterConfig, metadata: {name: cluster}, spec: {gitClient: {name: k, email: k@x, signingKeySecret: {name: gpg}}}}`,
		"spec.promotionWindows[0].projectSelector": `{apiVersion: kargo.akuity.io/v1alpha1, kind: ProjectConfig, metadata: {name: p, namespace: p}, spec: {promotionWindows: [{name: w, kind: Deny, projectSelector: {name: p}}]}}`,
	} {
		if _, err := ConvertAll([]Object{obj(t, y)}); err == nil || !strings.Contains(err.Error(), ": "+field+": ") {
			t.Errorf("%s: err = %v, want it refused naming the field", field, err)
		}
	}
}
