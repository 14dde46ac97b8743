package promotion

import (
	"strings"
	"testing"
)

// Expressions real Kargo pipelines use pass the type check; mistakes a user would only
// see mid-promotion are caught, each with a message naming what is wrong.
func TestCheckExpressionTypes(t *testing.T) {
	good := []string{
		"ctx.stage",
		"ctx.meta.promotion.actor + ctx.uiBaseUrl",
		"ctx.targetFreight.origin.name",
		"imageFrom(vars.imageRepo).Tag",
		"imageFrom('ghcr.io/x/y', warehouse('w')).Digest",
		"commitFrom(vars.repoURL, warehouse(vars.warehouse)).ID",
		"commitFrom('https://g/x.git').id",
		"chartFrom('oci://c/x', 'x').Version",
		"chartFrom('https://c', warehouse('w')).version",
		"outputs['update-image'].commit",
		"task.outputs.commit.commit",
		"quote(secret('slack').token)",
		"sharedConfigMap('cfg').region ?? 'eu'",
		"freightMetadata(ctx.targetFreight.name).build",
		"stageMetadata('prod')?.owner",
		"semverParse(task.outputs['read-version'].currentVersion).IncMinor().String()",
		"semverDiff('1.0.0', vars.v) == 'Major'",
		"status('push') == 'Succeeded' && success()",
		"artifactFrom('sub').Metadata.x",
		"unsafeQuote(vars.x) + asJSON(vars.y) + asYAML(outputs)",
		"vars.branch ?? 'main'",
	}
	for _, src := range good {
		if err := CheckExpression(src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	bad := map[string]string{
		"imageFromm('x').Tag":         "imageFromm",
		"imageFrom('x').Tags":         "Tags",
		"ctx.stagee":                  "stagee",
		"ctx.meta.promotion.user":     "user",
		"commitFrom()":                "not enough arguments",
		"semverDiff('1.0.0')":         "not enough arguments",
		"secret('a', 'b')":            "too many arguments",
		"success(1)":                  "too many arguments",
		"semverParse('1.0.0').Majr()": "Majr",
		"varz.x":                      "varz",
		"target.params.x":             "target",
		"warehouse(1)":                "cannot use int",
	}
	for src, want := range bad {
		err := CheckExpression(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", src, err, want)
		}
	}
}
