package manifest

import (
	"strings"
	"testing"
)

// TestGenericActionsAreTypeCheckedAtApply: `haul apply` compiles and type-checks every
// expression of a generic receiver's actions (Kargo's form, in a ProjectConfig and in the
// ClusterConfig) and refuses a bad one with the field's path and the expression; Kargo's
// documented examples pass.
func TestGenericActionsAreTypeCheckedAtApply(t *testing.T) {
	const project = `apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  webhookReceivers:
  - name: ci
    generic:
      secretRef: {name: ci}
      actions:
      - action: Refresh
        whenExpression: "request.header('X-Event-Type') == 'push' && request.body.ref == 'refs/heads/main'"
        parameters: {repo: "${{ request.body.repository.url }}"}
        targetSelectionCriteria:
        - kind: Warehouse
          name: "${{ normalizeGit(request.body.repository.name) }}"
        - kind: Warehouse
          labelSelector: {matchLabels: {service: "${{ request.params('service') }}"}}
          indexSelector:
            matchIndices:
            - {key: subscribedURLs, operator: Equals, value: "${{ normalizeChart(params.repo) }}"}
        - {kind: Promotion, name: "${{ request.body.promotion }}"}
`
	if _, err := Validate(load(t, project), Cluster{}); err != nil {
		t.Fatalf("Kargo's generic actions refused: %v", err)
	}
	cluster := strings.NewReplacer("kind: ProjectConfig", "kind: ClusterConfig", "{name: demo, namespace: demo}", "{name: cluster}").Replace(project)
	if _, err := Validate(load(t, cluster), Cluster{}); err != nil {
		t.Fatalf("Kargo's generic actions refused in a ClusterConfig: %v", err)
	}
	tests := map[string]struct{ from, to, want string }{
		"unknown function": {"request.header('X-Event-Type')", "header('X-Event-Type')",
			`spec.webhookReceivers[0].generic.actions[0].whenExpression: expression "header('X-Event-Type') == 'push' && request.body.ref == 'refs/heads/main'": unknown name header`},
		"unknown request field": {"request.body.ref ==", "request.bdy.ref ==",
			`spec.webhookReceivers[0].generic.actions[0].whenExpression: expression "request.header('X-Event-Type') == 'push' && request.bdy.ref == 'refs/heads/main'": type generic.Request has no field bdy`},
		"not a boolean": {"request.header('X-Event-Type') == 'push' && request.body.ref == 'refs/heads/main'", "normalizeGit('x')",
			`spec.webhookReceivers[0].generic.actions[0].whenExpression: expression "normalizeGit('x')": expected bool, but got string`},
		"syntax": {"request.header('X-Event-Type') == 'push' && ", "request.header('X-Event-Type') == 'push' && (",
			`spec.webhookReceivers[0].generic.actions[0].whenExpression: expression "request.header('X-Event-Type') == 'push' && (request.body.ref == 'refs/heads/mai…": unexpected token EOF`},
		"wrapped in ${{ }}": {`whenExpression: "request.header('X-Event-Type') == 'push' && request.body.ref == 'refs/heads/main'"`, `whenExpression: "${{ request.body.ok }}"`,
			`spec.webhookReceivers[0].generic.actions[0].whenExpression: expression "${{ request.body.ok }}": a whenExpression is a bare expression, without ${{ }}`},
		"name template": {"normalizeGit(request.body.repository.name)", "normalise(request.body.repository.name)",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[0].name: expression "normalise(request.body.repository.name)": unknown name normalise`},
		"wrong argument": {"request.params('service')", "request.params(1)",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[1].labelSelector.matchLabels.service: expression "request.params(1)": cannot use int as argument`},
		"index value": {"normalizeChart(params.repo)", "normalizeChart(params.repo, 2)",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[1].indexSelector.matchIndices[0].value: expression "normalizeChart(params.repo, 2)"`},
		"parameter": {"${{ request.body.repository.url }}", "${{ request.body.repository.url", `spec.webhookReceivers[0].generic.actions[0].parameters.repo: unterminated expression`},
		"receiverPaths": {"key: subscribedURLs", "key: receiverPaths",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[1].indexSelector.matchIndices[0].key: receiverPaths indexes ProjectConfigs, which a generic action cannot select`},
		"Promotion by index": {"- {kind: Promotion, name: \"${{ request.body.promotion }}\"}", "- {kind: Promotion, indexSelector: {matchIndices: [{key: subscribedURLs, operator: Equals, value: x}]}}",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[2].indexSelector: only Warehouses are indexed`},
		"empty criterion": {"- {kind: Promotion, name: \"${{ request.body.promotion }}\"}", "- {kind: Promotion}",
			`spec.webhookReceivers[0].generic.actions[0].targetSelectionCriteria[2]: at least one of name, labelSelector or indexSelector must be set`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for kind, y := range map[string]string{"ProjectConfig": project, "ClusterConfig": cluster} {
				if !strings.Contains(y, tc.from) {
					t.Fatalf("fixture lacks %q", tc.from)
				}
				_, err := Validate(load(t, strings.Replace(y, tc.from, tc.to, 1)), Cluster{})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v\nwant it to contain %s", kind, err, tc.want)
				}
			}
		})
	}
}
