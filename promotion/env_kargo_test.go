package promotion

// Kargo's expression functions (v1.11, main) against Haul's:
//
//	Kargo                         Haul
//	quote, unsafeQuote            quote, unsafeQuote
//	asJSON, asYAML                asJSON, asYAML
//	secret, configMap             secret, configMap (project namespace, generic only)
//	sharedSecret, sharedConfigMap missing
//	warehouse                     warehouse (map with Kind/Name and kind/name)
//	imageFrom/commitFrom/chartFrom same argument forms, map results with both names
//	artifactFrom                  missing
//	freightMetadata, freightStatus missing
//	stageMetadata                 missing
//	success, failure, always, status present
//	semverParse                   map (major, minor…), not Kargo's *semver.Version
//	semverDiff                    present
//	stepMetas (variable)          missing; ctx.uiBaseUrl, ctx.meta missing

import "testing"

// Pipelines that render objects into files use Kargo's asJSON/asYAML/unsafeQuote and
// expect the same text Kargo writes.
func TestKargoRenderFunctions(t *testing.T) {
	env := Env{"vars": map[string]any{"cfg": map[string]any{"b": 1, "a": "x"}, "s": "hi"}}
	for name, fn := range kargoRenderFuncs() {
		env[name] = fn
	}
	cases := map[string]string{
		"${{ asJSON(vars.cfg) }}":    "{\n  \"a\": \"x\",\n  \"b\": 1\n}\n",
		"${{ asYAML(vars.cfg) }}":    "a: x\nb: 1\n",
		"${{ unsafeQuote(vars.s) }}": `"hi"`,
		"${{ unsafeQuote(42) }}":     "42",
	}
	for src, want := range cases {
		t.Run(src, func(t *testing.T) {
			got, err := EvalTemplate(src, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

// Kargo's second delimiters let an expression contain "}}".
func TestKargoPercentDelimiters(t *testing.T) {
	got, err := EvalTemplate(`${% {"labels": {"app": "nginx"}} %}`, Env{})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := got.(map[string]any)
	if !ok || m["labels"].(map[string]any)["app"] != "nginx" {
		t.Fatalf("got %#v", got)
	}
	got, err = EvalTemplate(`a-${% 1+1 %}-${{ "b" }}`, Env{})
	if err != nil || got != "a-2-b" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := EvalTemplate(`x ${% 1`, Env{}); err == nil {
		t.Fatal("unterminated ${% accepted")
	}
}
