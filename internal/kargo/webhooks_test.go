package kargo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/manifest"
)

// TestKargoProjectConfigReceivers loads a Kargo ProjectConfig with one receiver of each
// kind Kargo has that Haul added (gitea, bitbucket, artifactory with virtualRepoName,
// azure) and checks each arrives in Haul's type with its Secret and options; a Kargo
// generic receiver with actions, which Haul does not run, is refused naming the field.
func TestKargoProjectConfigReceivers(t *testing.T) {
	const cfg = `apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  webhookReceivers:
  - name: gitea
    gitea: {secretRef: {name: gitea-secret}}
  - name: bitbucket
    bitbucket: {secretRef: {name: bb-secret}}
  - name: jfrog
    artifactory: {secretRef: {name: jfrog-secret}, virtualRepoName: docker-virtual}
  - name: azure
    azure: {secretRef: {name: azure-secret}}
`
	docs := load(t, cfg)
	obj, msgs, err := manifest.Decode(&docs[0])
	if err != nil || len(msgs) > 0 {
		t.Fatal(err, msgs)
	}
	got := obj.(*haulv1.ProjectConfig).Spec.WebhookReceivers
	if len(got) != 4 || got[0].Gitea == nil || got[0].Gitea.SecretRef.Name != "gitea-secret" ||
		got[1].Bitbucket == nil || got[1].Bitbucket.SecretRef.Name != "bb-secret" ||
		got[2].Artifactory == nil || got[2].Artifactory.VirtualRepoName != "docker-virtual" || got[2].Artifactory.SecretRef.Name != "jfrog-secret" ||
		got[3].Azure == nil || got[3].Azure.SecretRef.Name != "azure-secret" {
		t.Fatalf("receivers not carried over: %+v", got)
	}

	const generic = `apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  webhookReceivers:
  - name: ci
    generic:
      secretRef: {name: ci}
      actions:
      - action: Refresh
        targetSelectionCriteria: [{kind: Warehouse, name: app}]
`
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(generic), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = manifest.Load([]string{p}, false, nil)
	if err == nil || !strings.Contains(err.Error(), "spec.webhookReceivers[0].generic.actions: generic receiver actions are not implemented in Haul yet") {
		t.Fatalf("generic actions must be refused naming the field and why, got %v", err)
	}
}

func load(t *testing.T, y string) []manifest.Document {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := manifest.Load([]string{p}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}
