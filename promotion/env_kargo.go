package promotion

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// kargoRenderFuncs are Kargo's rendering helpers. Kargo computes each as text wrapped
// in quotes that its template coercion then strips; Haul keeps a whole-value result's
// type, so each returns the text Kargo's pipeline ends with.
func kargoRenderFuncs() map[string]ExprFunc {
	return map[string]ExprFunc{
		// unsafeQuote renders any value as JSON, so a string keeps visible quotes.
		"unsafeQuote": oneArg("unsafeQuote", func(v any) (any, error) {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}),
		// asJSON renders pretty JSON (two-space indent) with a trailing newline.
		"asJSON": oneArg("asJSON", func(v any) (any, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return nil, err
			}
			return string(b) + "\n", nil
		}),
		// asYAML renders YAML the way Kargo's yaml.v3 encoder does.
		"asYAML": oneArg("asYAML", func(v any) (any, error) {
			b, err := yaml.Marshal(v)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}),
	}
}

func oneArg(name string, fn func(any) (any, error)) ExprFunc {
	return func(args ...any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 argument, got %d", name, len(args))
		}
		out, err := fn(args[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
}
