package kargo_test

import (
	"os"
	"path/filepath"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/manifest"
)

// TestKargoProjectConfigReceivers loads a Kargo ProjectConfig with one receiver of each
// kind Kargo has that Haul added (gitea, bitbucket, artifactory with virtualRepoName,
// azure) and checks each arrives in Haul's type with its Secret and options, and that a
// Kargo generic receiver's actions arrive whole: action, whenExpression, parameters,
// and each criterion's kind, name, labelSelector and indexSelector.
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
        whenExpression: "request.header('X-Event-Type') == 'push'"
        parameters: {repo: "${{ request.body.repository.url }}"}
        targetSelectionCriteria:
        - kind: Warehouse
          labelSelector: {matchLabels: {env: prod}}
          indexSelector:
            matchIndices:
            - {key: subscribedURLs, operator: Equals, value: "${{ normalizeGit(params.repo) }}"}
        - {kind: Promotion, name: "${{ request.body.promotion }}"}
`
	docs = load(t, generic)
	obj, msgs, err = manifest.Decode(&docs[0])
	if err != nil || len(msgs) > 0 {
		t.Fatal(err, msgs)
	}
	g := obj.(*haulv1.ProjectConfig).Spec.WebhookReceivers[0].Generic
	if g == nil || g.SecretRef.Name != "ci" || len(g.Actions) != 1 {
		t.Fatalf("generic receiver not carried over: %+v", g)
	}
	a := g.Actions[0]
	if a.Action != haulv1.GenericWebhookActionRefresh || a.WhenExpression != "request.header('X-Event-Type') == 'push'" ||
		a.Parameters["repo"] != "${{ request.body.repository.url }}" || len(a.TargetSelectionCriteria) != 2 {
		t.Fatalf("action not carried over: %+v", a)
	}
	wh, pr := a.TargetSelectionCriteria[0], a.TargetSelectionCriteria[1]
	if wh.Kind != haulv1.GenericWebhookTargetWarehouse || wh.LabelSelector == nil || wh.LabelSelector.MatchLabels["env"] != "prod" ||
		wh.IndexSelector == nil || wh.IndexSelector.MatchIndices[0] != (haulv1.IndexSelectorRequirement{Key: "subscribedURLs", Operator: haulv1.IndexSelectorEquals, Value: "${{ normalizeGit(params.repo) }}"}) ||
		pr.Kind != haulv1.GenericWebhookTargetPromotion || pr.Name != "${{ request.body.promotion }}" {
		t.Fatalf("targetSelectionCriteria not carried over: %+v", a.TargetSelectionCriteria)
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
