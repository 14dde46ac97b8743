package promotion

// Kargo's expression functions (v1.11, main) against Haul's:
//
//	Kargo                          Haul
//	quote, unsafeQuote             same
//	asJSON, asYAML                 same
//	secret, configMap              project namespace; secret() generic-labelled only
//	sharedSecret, sharedConfigMap  the shared namespace; sharedSecret generic only
//	warehouse                      map with Kind/Name and kind/name
//	imageFrom/commitFrom/chartFrom same argument forms, map results with both names
//	artifactFrom                   registered; Haul Freight has no generic artifacts
//	freightMetadata, freightStatus same (Freight status read uncached)
//	stageMetadata                  same call; Haul Stages carry no metadata (nil)
//	success, failure, always       same
//	status                         same ("" for an unknown alias, task-scoped)
//	semverParse, semverDiff        same (*semver.Version; no "Prerelease" outcome)
//	ctx.uiBaseUrl, ctx.meta        same (rollback only for automatic rollbacks)

import (
	"testing"

	"github.com/Masterminds/semver/v3"
)

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

// semverParse returns Kargo's *semver.Version, so its methods work; semverDiff has
// Kargo's outcomes only (a prerelease-only difference is "None", as Kargo computes).
func TestKargoSemverFunctions(t *testing.T) {
	e := &Engine{}
	req := &Request{}
	st := &State{Steps: nil}
	env := Env{}
	for n, fn := range e.funcs(t.Context(), req, st, 0) {
		env[n] = fn
	}
	v, _ := semver.NewVersion("v1.2.3")
	cases := map[string]any{
		"${{ semverParse('v1.2.3').IncMinor().String() }}": v.IncMinor().String(),
		"${{ semverParse('v1.2.3').Major() }}":             v.Major(),
		"${{ semverParse('1.2.3-rc.1').Prerelease() }}":    "rc.1",
		"${{ semverDiff('1.2.3-rc.1', '1.2.3') }}":         "None",
		"${{ semverDiff('1.2.3+b1', '1.2.3+b2') }}":        "Metadata",
		"${{ semverDiff('1.2.3', 'not-a-version') }}":      "Incomparable",
		"${{ semverDiff('1.2.3', '1.3.0') }}":              "Minor",
	}
	for src, want := range cases {
		got, err := EvalTemplate(src, env)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got != want {
			t.Errorf("%s = %#v, want %#v", src, got, want)
		}
	}
	if _, err := EvalTemplate("${{ semverParse('nope') }}", env); err == nil {
		t.Fatal("semverParse of an invalid version succeeded")
	}
}
