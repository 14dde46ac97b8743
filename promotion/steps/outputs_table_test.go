package steps

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

// assertOutputsListed fails t when res holds an output key that the built-in table
// (registry.go) does not list for step fn with cfg: `haul apply` would then refuse
// outputs.<alias>.<key> although the step outputs it. The shared run helpers call it,
// so every step test that gets an Output checks the table.
func assertOutputsListed(t *testing.T, fn func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any, res promotion.StepResult) {
	t.Helper()
	ptr := reflect.ValueOf(fn).Pointer()
	for _, s := range builtin {
		if reflect.ValueOf(s.run).Pointer() != ptr {
			continue
		}
		keys, known := s.outputs(cfg)
		if !known {
			return
		}
		for k := range res.Output {
			if !slices.Contains(keys, k) {
				t.Errorf("%s outputs %q, which its output table in registry.go lacks (listed: %v)", s.name, k, keys)
			}
		}
		return
	}
}

func TestEveryBuiltinStepListsItsOutputs(t *testing.T) {
	reg := Builtin()
	for _, name := range reg.Names() {
		if _, known := reg.OutputKeys(name, map[string]any{}); !known {
			t.Errorf("%s: output keys unknown for an empty config", name)
		}
	}
}

func TestUserDefinedOutputsComeFromTheConfig(t *testing.T) {
	reg := Builtin()
	cases := map[string]struct {
		uses  string
		cfg   map[string]any
		want  []string
		known bool
	}{
		"compose-output's keys": {"compose-output", map[string]any{"b": "${{ 1 }}", "a": 2}, []string{"a", "b"}, true},
		"http's outputs[].name": {"http", map[string]any{"outputs": []any{map[string]any{"name": "status", "fromExpression": "response.status"}}}, []string{"status"}, true},
		"yaml-parse's names":    {"yaml-parse", map[string]any{"outputs": []any{map[string]any{"name": "tag"}, map[string]any{"name": "repo"}}}, []string{"tag", "repo"}, true},
		"a templated name":      {"json-parse", map[string]any{"outputs": []any{map[string]any{"name": "${{ vars.n }}"}}}, nil, false},
		"a templated list":      {"toml-parse", map[string]any{"outputs": "${{ vars.outs }}"}, nil, false},
		"a fixed list":          {"git-push", nil, []string{"commit", "branch", "commitURL"}, true},
		"an unregistered step":  {"no-such-step", nil, nil, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, known := reg.OutputKeys(c.uses, c.cfg)
			if known != c.known || !slices.Equal(got, c.want) {
				t.Fatalf("OutputKeys(%s) = %v, %v; want %v, %v", c.uses, got, known, c.want, c.known)
			}
		})
	}
}
