package kargo

// refusal is why a fixture is refused: want is a substring of apply's error, why the
// reason in a few words; fragment marks a documentation snippet that is not a whole
// object (elided parts, placeholders), which Kargo's API server would refuse too.
type refusal struct {
	want, why string
	fragment  bool
}

// Reasons shared by several fixtures.
const (
	noName    = "fragment: the object has no metadata (`# ...`); the snippet shows steps only"
	noFreight = "fragment: requestedFreight is elided (`# ...`); Kargo requires it too"
)

// refusals lists every fixture apply refuses, and why (docs/kargo-compatibility.md
// has the same table). Paths are relative to testdata/.
var refusals = map[string]refusal{
	// Fields Haul refuses on purpose (kargo.Refusals).
	"docs/40-operator-guide/20-advanced-installation/30-common-configurations/block-14.yaml": {"spec.gitClient.signingKeySecret: Haul does not sign commits", "ClusterConfig gitClient.signingKeySecret: Haul does not sign commits (name and email alone are taken)", false},
	// Steps only the Akuity Platform (Kargo Enterprise) has, or none.
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jira/block-09.yaml":            {`unknown step "jira"`, "jira is an Akuity Platform step", false},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/gh-create-issue/block-04.yaml": {`unknown step "gh-create-issue"`, "gh-* are Akuity Platform steps (requestedFreight is elided as well)", false},
	"docs/80-release-notes/96-v1.3.0/block-01.yaml":                                         {`unknown step "fake-step"`, "a made-up step name illustrating `if` (requestedFreight is elided as well)", false},
	// Errors in Kargo's documentation: Kargo's API server drops unknown fields silently,
	// so these would do nothing there; Haul refuses unknown fields.
	"docs/80-release-notes/96-v1.3.0/block-02.yaml":                                   {"spec.requestedFreight[0].availabilityStrategy: unknown field", "docs error: availabilityStrategy belongs under sources; and the Stage takes Freight from itself (stages: [test, uat] in Stage uat)", false},
	"docs/80-release-notes/97-v1.2.0/block-02.yaml":                                   {"spec.promotionTemplate.steps: unknown field", "docs error: steps is indented under promotionTemplate instead of promotionTemplate.spec", false},
	"docs/80-release-notes/97-v1.2.0/block-03.yaml":                                   {"spec.requestedFreight[0].requiredSoakTime: unknown field", "docs error: requiredSoakTime belongs under sources", false},
	"docs/50-user-guide/60-reference-docs/80-webhook-receivers/generic/block-04.yaml": {"not valid YAML", `docs error: the double quotes inside "request.header("X-Event-Type") …" end the YAML string`, false},

	// Fragments.
	"docs/40-operator-guide/40-security/60-promotion-pod-identity/block-03.yaml":                  {"not valid YAML", "fragment: `requestedFreight: ...`, and a tab indents an annotation", true},
	"docs/50-user-guide/20-how-to-guides/20-working-with-projects/block-16.yaml":                  {`invalid name "<project>"`, "fragment: placeholder name `<project>`", true},
	"docs/50-user-guide/20-how-to-guides/40-working-with-stages/block-01.yaml":                    {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/20-how-to-guides/40-working-with-stages/block-09.yaml":                    {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/20-how-to-guides/40-working-with-stages/block-11.yaml":                    {"spec: Required value", "fragment: placeholder name `<stage>` and an elided spec", true},
	"docs/50-user-guide/20-how-to-guides/60-verification/block-01.yaml":                           {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/20-how-to-guides/60-verification/block-02.yaml":                           {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/20-how-to-guides/60-verification/block-05.yaml":                           {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/20-how-to-guides/60-verification/block-06.yaml":                           {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/60-reference-docs/15-promotion-templates/block-01.yaml":                   {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/60-reference-docs/20-promotion-tasks/block-09.yaml":                       {"spec: Required value", "fragment: the spec is elided (`# ...equivalent to a PromotionTask`)", true},
	"docs/80-release-notes/96-v1.3.0/block-03.yaml":                                               {"spec.requestedFreight: Required value", noFreight, true},
	"docs/80-release-notes/96-v1.3.0/block-04.yaml":                                               {"spec.requestedFreight: Required value", noFreight, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-update/block-03.yaml":         {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-update/block-07.yaml":         {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-update/block-08.yaml":         {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-update/block-09.yaml":         {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-update/block-11.yaml":         {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/argocd-wait/block-01.yaml":           {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/gha-wait-for-workflow/block-01.yaml": {"metadata.name: required", noName + " (gha-wait-for-workflow is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/gha-wait-for-workflow/block-02.yaml": {"metadata.name: required", noName + " (gha-wait-for-workflow is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/gha-wait-for-workflow/block-03.yaml": {"metadata.name: required", noName + " (gha-wait-for-workflow is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-commit/block-01.yaml":            {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-commit/block-02.yaml":            {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-open-pr/block-01.yaml":           {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-open-pr/block-02.yaml":           {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-open-pr/block-03.yaml":           {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/git-wait-for-pr/block-01.yaml":       {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jfrog-evidence/block-03.yaml":        {"metadata.name: required", noName + " (jfrog-evidence is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jfrog-evidence/block-05.yaml":        {"metadata.name: required", noName + " (jfrog-evidence is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jira/block-01.yaml":                  {"metadata.name: required", noName + " (jira is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jira/block-04.yaml":                  {"metadata.name: required", noName + " (jira is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jira/block-05.yaml":                  {"metadata.name: required", noName + " (jira is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/jira/block-06.yaml":                  {"metadata.name: required", noName + " (jira is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/oci-push/block-03.yaml":              {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/send-message/block-06.yaml":          {"metadata.name: required", noName, true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/tf-output/block-01.yaml":             {"metadata.name: required", noName + " (tf-output is an Akuity Platform step)", true},
	"docs/50-user-guide/60-reference-docs/30-promotion-steps/tf-output/block-02.yaml":             {"metadata.name: required", noName + " (tf-output is an Akuity Platform step)", true},
}
