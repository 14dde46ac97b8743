package steps

import (
	"context"
	"fmt"

	"github.com/expr-lang/expr"

	"github.com/haul-dev/haul/promotion"
)

// parseConfig is the config of the *-parse steps (yaml-parse, json-parse, toml-parse):
// a file and the outputs to compute from its parsed contents.
type parseConfig struct {
	Path    string        `json:"path"`
	Outputs []parseOutput `json:"outputs"`
}

// parseStep is the body the *-parse steps share: decode the config, read the file
// inside the work tree (size-capped), decode it with decode, and compute the outputs.
// A decode error is terminal: the file will not parse better on a retry.
func parseStep(decode func(data []byte, rel string) (any, error)) promotion.StepFunc {
	return func(_ context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
		var cfg parseConfig
		if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
			return promotion.StepResult{}, err
		}
		p, err := sc.Path("path", cfg.Path)
		if err != nil {
			return promotion.StepResult{}, err
		}
		data, err := readCapped(p, cfg.Path)
		if err != nil {
			return promotion.StepResult{}, err
		}
		doc, err := decode(data, cfg.Path)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(err)
		}
		out, err := evalOutputs(doc, cfg.Path, cfg.Outputs)
		if err != nil {
			return promotion.StepResult{}, err
		}
		return promotion.StepResult{Output: out}, nil
	}
}

// parseOutput names one output and the expression, over the parsed document, that
// computes it.
type parseOutput struct {
	Name           string `json:"name"`
	FromExpression string `json:"fromExpression"`
}

// Validate checks what the Kargo schema requires beyond presence.
func (c *parseConfig) Validate() error {
	if c.Path == "" {
		return fmt.Errorf("path must not be empty")
	}
	if len(c.Outputs) == 0 {
		return fmt.Errorf("outputs needs at least one entry")
	}
	seen := map[string]bool{}
	for i, o := range c.Outputs {
		if o.Name == "" {
			return fmt.Errorf("outputs[%d].name must not be empty", i)
		}
		if o.FromExpression == "" {
			return fmt.Errorf("outputs[%d].fromExpression must not be empty", i)
		}
		if seen[o.Name] {
			return fmt.Errorf("outputs[%d].name %q is used twice", i, o.Name)
		}
		seen[o.Name] = true
	}
	return nil
}

// evalOutputs evaluates each output's expression with the document's top-level keys as
// variables, as Kargo does: `image.tag` reads the key tag below the key image, and a
// key the document lacks evaluates to nil. Errors name the output and its expression.
func evalOutputs(doc any, rel string, outputs []parseOutput) (map[string]any, error) {
	env, ok := doc.(map[string]any)
	if !ok {
		return nil, promotion.Terminal(fmt.Errorf("%s: the document must be a map at the top level, not %s", rel, kindOf(doc)))
	}
	out := make(map[string]any, len(outputs))
	for i, o := range outputs {
		prog, err := expr.Compile(o.FromExpression)
		if err != nil {
			return nil, promotion.Terminal(fmt.Errorf("outputs[%d] (%s): compiling expression %q: %w", i, o.Name, o.FromExpression, err))
		}
		v, err := expr.Run(prog, env)
		if err != nil {
			return nil, promotion.Terminal(fmt.Errorf("outputs[%d] (%s): evaluating expression %q over %s: %w", i, o.Name, o.FromExpression, rel, err))
		}
		out[o.Name] = v
	}
	return out, nil
}

// kindOf names the JSON kind of a decoded value for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a map"
	default:
		return "a number"
	}
}
