package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// kargoStepKeys is testdata/kargo_step_keys.json, written by hack/kargoschema from
// Kargo's step schemas.
type kargoStepKeys struct {
	KargoCommit string `json:"kargoCommit"`
	Steps       map[string][]struct {
		Path string `json:"path"`
		Type string `json:"type"`
	} `json:"steps"`
}

// refusedKargoSteps are Kargo steps Haul does not register, on purpose, with why
// (docs/kargo-compatibility.md lists them). Empty: Haul registers every one.
var refusedKargoSteps = map[string]string{}

// refusedKargoKeys are Kargo keys a Haul step decodes but refuses with a message,
// because it cannot honour them (docs/kargo-compatibility.md says why), by step and
// key path, with the rest of a config that would otherwise pass. The test checks that
// the refusal names the key.
var refusedKargoKeys = map[string]map[string]refusedKey{
	"http": {
		"proxy": {"the address policy checks the address dialled; a proxy hides it", map[string]any{"url": "https://example.com"}, nil},
	},
	"git-clone": {
		"author.signingKey": {"Haul does not sign commits", map[string]any{"repoURL": "https://example.com/r.git", "checkout": []any{map[string]any{"path": "src"}}}, nil},
		"recurseSubmodules": {"Haul does not clone submodules", map[string]any{"repoURL": "https://example.com/r.git", "checkout": []any{map[string]any{"path": "src"}}}, true},
	},
	"kustomize-build": {
		"plugin.helm":             {"no Helm chart inflation in kustomize-build", map[string]any{"path": "app", "outPath": "out"}, nil},
		"plugin.helm.apiVersions": {"no Helm chart inflation in kustomize-build", map[string]any{"path": "app", "outPath": "out"}, nil},
		"plugin.helm.kubeVersion": {"no Helm chart inflation in kustomize-build", map[string]any{"path": "app", "outPath": "out"}, nil},
	},
}

type refusedKey struct {
	why  string
	base map[string]any
	// value replaces the sample value when only some values are refused (true for a
	// boolean whose false is harmless).
	value any
}

// anyKeySteps take arbitrary keys by design (Kargo's schema allows any), so an
// unknown key is not an error there.
var anyKeySteps = map[string]bool{"compose-output": true}

// TestEveryKargoStepKeyIsAccepted walks every step and config key path of Kargo's
// schemas (from the fixture) and proves that Haul registers the step and that its
// config decoding takes the key with a value of Kargo's type: the step may then fail
// for lack of the other keys or files, but never with "unknown field" or a type
// mismatch. Decoding is strict, so a key Haul lacks fails here; each step is first
// shown to refuse a key no schema has.
func TestEveryKargoStepKeyIsAccepted(t *testing.T) {
	b, err := os.ReadFile("testdata/kargo_step_keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx kargoStepKeys
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Steps) < 30 || fx.KargoCommit == "" {
		t.Fatalf("fixture has %d steps and commit %q; regenerate it with hack/kargoschema", len(fx.Steps), fx.KargoCommit)
	}
	registered := map[string]func(context.Context, *promotion.StepContext) (promotion.StepResult, error){}
	for _, s := range builtin {
		registered[s.name] = s.run
	}
	names := make([]string, 0, len(fx.Steps))
	for n := range fx.Steps {
		names = append(names, n)
	}
	sort.Strings(names)
	keys := 0
	for _, step := range names {
		run, ok := registered[step]
		if !ok {
			if _, refused := refusedKargoSteps[step]; !refused {
				t.Errorf("Kargo step %s is not registered in Haul", step)
			}
			continue
		}
		t.Run(step, func(t *testing.T) {
			if !anyKeySteps[step] {
				err := decodeOnly(t, run, map[string]any{"haulNoSuchKey": "x"})
				if err == nil || !strings.Contains(err.Error(), `unknown field "haulNoSuchKey"`) {
					t.Fatalf("a key no schema has gave %v; decoding must be strict for this test to mean anything", err)
				}
			}
			for _, k := range fx.Steps[step] {
				keys++
				cfg := configWithKey(k.Path, sampleValue(k.Type))
				if rk, refused := refusedKargoKeys[step][k.Path]; refused {
					if rk.value != nil {
						cfg = configWithKey(k.Path, rk.value)
					}
					for bk, bv := range rk.base {
						cfg[bk] = bv
					}
					err := decodeOnly(t, run, cfg)
					top := strings.SplitN(k.Path, ".", 3)
					named := strings.Join(top[:min(2, len(top))], ".")
					if err == nil || !strings.Contains(err.Error(), named) {
						t.Errorf("%s: refused on purpose (%s), but the error %v does not name %s", k.Path, rk.why, err, named)
					}
					continue
				}
				err := decodeOnly(t, run, cfg)
				if err != nil && (strings.Contains(err.Error(), "unknown field") || strings.Contains(err.Error(), "cannot unmarshal")) {
					t.Errorf("%s (%s): %v", k.Path, k.Type, err)
				}
			}
		})
	}
	if keys < 200 {
		t.Errorf("checked %d keys, want the fixture's 200 and more", keys)
	}
}

// decodeOnly runs a step on cfg in an empty work dir with a short deadline and no
// services; with only one key set the step stops at its config checks or at the
// first missing file. A panic is reported as an error.
func decodeOnly(t *testing.T, run func(context.Context, *promotion.StepContext) (promotion.StepResult, error), cfg map[string]any) (err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	sc := &promotion.StepContext{WorkDir: t.TempDir(), Project: "shop", Stage: "uat", Promotion: "uat.01", Alias: "step",
		Config: cfg, Attempt: 1, Services: &promotion.Services{HTTPClient: promotion.AddressPolicy{DenyPrivate: true}.Client}}
	_, err = run(ctx, sc)
	return err
}

// configWithKey builds the smallest config holding path set to leaf: for
// "a[].b.c", {"a": [{"b": {"c": leaf}}]}.
func configWithKey(path string, leaf any) map[string]any {
	parts := strings.Split(path, ".")
	name, isArray := strings.CutSuffix(parts[0], "[]")
	v := any(leaf)
	if len(parts) > 1 {
		v = configWithKey(strings.Join(parts[1:], "."), leaf)
	}
	if isArray {
		v = []any{v}
	}
	return map[string]any{name: v}
}

// sampleValue is a value of a fixture type.
func sampleValue(typ string) any {
	switch typ {
	case "string", "any":
		return "x"
	case "boolean":
		return false
	case "integer", "number":
		return float64(1)
	case "object":
		return map[string]any{}
	case "map":
		return map[string]any{"k": "v"}
	case "array":
		return []any{map[string]any{}}
	}
	if it, ok := strings.CutPrefix(typ, "array:"); ok {
		return []any{sampleValue(it)}
	}
	return "x"
}
