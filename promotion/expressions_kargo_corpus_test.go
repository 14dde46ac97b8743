package promotion

import (
	"encoding/json"
	"os"
	"testing"
)

// kargoCorpusExceptions are expressions of Kargo's docs that are not step expressions
// or that Haul's environment rejects on purpose, with why.
var kargoCorpusExceptions = map[string]string{
	"project":                        "operator-guide Helm values template, not a step expression",
	"analysisRun":                    "operator-guide Helm values template, not a step expression",
	"jobName":                        "operator-guide Helm values template, not a step expression",
	"container":                      "operator-guide Helm values template, not a step expression",
	"token":                          "operator-guide Helm values template, not a step expression",
	"vars.<variable-name>":           "a placeholder in prose",
	"steps.meta.outputs.tags":        "Warehouse/discovery example of another tool's syntax, not a Kargo step expression",
	"steps.meta.outputs.annotations": "Warehouse/discovery example of another tool's syntax, not a Kargo step expression",
	"":                               "an empty ${{ }} shown in prose",
	"config.world":                   "custom (container) step config, evaluated by the step's own image",
	"config.hello":                   "custom (container) step config, evaluated by the step's own image",
	"config.my_config":               "custom (container) step config, evaluated by the step's own image",
	"config.nested.values[0]":        "custom (container) step config, evaluated by the step's own image",
	"config.something.else":          "custom (container) step config, evaluated by the step's own image",
	"config.cred.username":           "custom (container) step config, evaluated by the step's own image",
	"config.cred.password":           "custom (container) step config, evaluated by the step's own image",
	"chartRepo":                      "Kargo doc error: no variable chartRepo exists in Kargo's step environment either (vars.chartRepo is meant)",
	"chartFrom(chartRepo, \"my-chart\").Version": "Kargo doc error: chartRepo is not defined in Kargo either",
	"chartFrom(chartRepo).Version":               "Kargo doc error: chartRepo is not defined in Kargo either",
	"ctx.timestamp":                              "send-message (not open source) docs; Kargo's open-source ctx has no timestamp",
	"{\"labels\": {\"app\": \"nginx\"":           "cut at the first }} by the extractor; the doc shows it inside ${% %}",
	"foo.bar":                                    "prose example of generic syntax",
	"baz.qux":                                    "prose example of generic syntax",
	"normalizeGit(request.body.repository.name)": "generic webhook receiver expression (another environment)",
	"request.body.promotion":                     "generic webhook receiver expression (another environment)",
	"normalizeGit(request.body.repository.url)":  "generic webhook receiver expression (another environment)",
	"event.freight.stageName":                    "notification router expression (another environment)",
	"event.freight.name":                         "notification router expression (another environment)",
	"event.stageName":                            "notification router expression (another environment)",
	"event.freight.alias":                        "notification message expression (another environment)",
	"Expression Language Support":                "release-notes prose",
}

// Every ${{ }} expression in Kargo's documentation (docs/docs) and in the
// akuity/kargo-simple and akuity/kargo-advanced repositories (testdata, extracted from
// the mirrors with their file of origin) passes apply-time type checking, except the
// few listed with a reason.
func TestKargoCorpusExpressionsTypeCheck(t *testing.T) {
	b, err := os.ReadFile("testdata/kargo_expressions.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus []struct{ Src, Expr string }
	if err := json.Unmarshal(b, &corpus); err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 100 {
		t.Fatalf("corpus has %d expressions, want the whole extraction", len(corpus))
	}
	failed := 0
	for _, c := range corpus {
		err := CheckExpression(c.Expr)
		_, excepted := kargoCorpusExceptions[c.Expr]
		switch {
		case err != nil && !excepted:
			failed++
			t.Errorf("%s: %q: %v", c.Src, c.Expr, err)
		case err == nil && excepted:
			t.Errorf("%s: %q passes now; remove it from the exceptions", c.Src, c.Expr)
		}
	}
	t.Logf("%d Kargo expressions, %d exceptions, %d failed", len(corpus), len(kargoCorpusExceptions), failed)
}
